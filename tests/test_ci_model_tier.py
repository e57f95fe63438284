"""The CI stage of the real-model tier: what its hash covers (.ci/model-tier-hash)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "model-tier-hash"


def hashed_paths() -> list[str]:
    block = re.search(r"paths=\(\n(.*?)\n\)", SCRIPT.read_text(encoding="utf-8"), re.S)
    assert block is not None
    return block.group(1).split()


def test_every_path_the_hash_covers_exists():
    missing = [p for p in hashed_paths() if not (ROOT / p).exists()]
    assert missing == []


def test_the_model_path_modules_are_covered():
    covered = hashed_paths()
    for module in ("prompts/generative.py", "prompts/verification.py", "prompts/chat_model.py"):
        assert module in covered


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)
def test_the_hash_is_one_sha256_line():
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=True, timeout=60)  # noqa: S603
    assert re.fullmatch(r"[0-9a-f]{64}\n", done.stdout)
