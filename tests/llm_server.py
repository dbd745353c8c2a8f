"""A real local OpenAI-compatible server for tests: ``shopsense llm serve`` (xllamacpp + the packaged
SmolLM2-135M GGUF) in a subprocess on a free loopback port. Import the fixture into a conftest or test
module: ``from llm_server import llm_server  # noqa: F401``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest


def start_llm_server(timeout: float = 120.0) -> tuple[subprocess.Popen, str]:
    """Start the server; returns (process, base URL ending in /v1) once it answers a chat request."""
    # one thread: the test workers share 2 cores, and llama.cpp's spinning threads slow to a crawl when
    # they outnumber the free cores
    cmd = [sys.executable, "-c", "from shopsense.cli import main; main()", "llm", "serve", "--port", "0",
           "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening "):
        proc.kill()
        raise RuntimeError(f"llm server did not start: {line!r} {proc.stderr.read()[-2000:] if proc.stderr else ''}")
    base_url = line.split()[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/models", timeout=5).status_code == 200:
                return proc, base_url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("llm server did not answer in time")


@pytest.fixture(scope="session")
def llm_server() -> Iterator[str]:
    proc, base_url = start_llm_server()
    try:
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
