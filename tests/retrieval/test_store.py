"""retrieval.store: a Qdrant server that is down or refuses is one line, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from config import load_settings
from config.errors import one_line
from retrieval.store import DenseSearcher, StoreError


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the block ends


def test_a_qdrant_server_that_cannot_be_reached_is_a_store_error_without_its_password(tmp_path: Path) -> None:
    url = f"http://ops:hunter22@127.0.0.1:{closed_port()}"
    cfg = load_settings(store={"url": url}).store
    with pytest.raises(StoreError, match="cannot reach the Qdrant server at") as caught:
        DenseSearcher(cfg, tmp_path / "qdrant")
    assert caught.value.exit_code == 1 and "hunter22" not in one_line(caught.value)


def test_a_qdrant_server_that_refuses_is_a_store_error_naming_the_key_variable(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    class Unauthorised(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(403)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Unauthorised)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = load_settings(store={"url": f"http://127.0.0.1:{server.server_port}"}).store
        with pytest.raises(StoreError, match=r"answered HTTP 403 .*check \$QDRANT_API_KEY"):
            DenseSearcher(cfg, tmp_path / "qdrant").search(np.zeros(384, dtype=np.float32), 3)
    finally:
        server.shutdown()
        server.server_close()
