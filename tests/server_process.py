"""Start the real `renderer serve` (uvicorn, in a subprocess, on a free loopback port) for tests.

Shared by tests/test_server*.py. No mocks: the process is the one users run, spoken to over
real HTTP on 127.0.0.1, and killed (with its render workers) when the fixture ends. Also
`served_in_thread`: an ASGI app of a test's own on a real uvicorn in this process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import uvicorn

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 60.0


@contextmanager
def served_in_thread(config: uvicorn.Config) -> Iterator[int]:
    """`config` (host 127.0.0.1, port 0) served by uvicorn on a thread of this process; yields
    the port it listens on, and stops the server when the block ends."""
    import uvicorn

    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
            time.sleep(0.02)
        port: int = server.servers[0].sockets[0].getsockname()[1]
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """One server subprocess; `url` is its base URL. Use as a context manager. It is ready when
    `ready_path` answers 200 (`renderer preview` has no /healthz: it passes "/")."""

    def __init__(
        self,
        argv: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        ready_path: str = "/healthz",
    ) -> None:
        self.port = free_port()
        self.ready_path = ready_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        environ = {k: v for k, v in os.environ.items() if not k.startswith("RENDERER_")}
        environ.update(env or {})
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=environ,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: the server and its render workers
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                msg = f"server exited with {self.proc.returncode}:\n{self.log.read_text()}"
                raise RuntimeError(msg)
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        msg = f"server not ready in {STARTUP_SECONDS}s:\n{self.log.read_text()}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log_file.close()

    def __enter__(self) -> ServerProcess:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(*args: str) -> list[str]:
    """argv of `renderer serve` on the fixture's port."""
    return [sys.executable, "-m", "renderer", "serve", "--port", "{port}", *args]


# A card that takes seconds to draw (a 4096 px canvas of text): it outlives a 1 s render deadline,
# and a job holding it is still running when a test kills the server. Server workers draw on one
# thread; at 40 blocks it takes ~3 s warm on the 2-core CI machine (20 took 1.4 s once the
# painter got faster: too close to the deadline). It is over the default cost model (Limits:
# 194,000 characters shaped), so the servers that draw it raise the bound: `HEAVY_ENV`.
HEAVY_ENV = {"RENDERER_LIMITS": '{"max_shaped_chars": 400000, "max_glyphs": 400000}'}
HEAVY: dict[str, Any] = {
    "width": 4096,
    "height": 4096,
    "components": [
        {
            "type": "text",
            "text": "Lorem ipsum dolor sit amet " * 180,
            "fontSize": 40,
            "frameWidth": 4000,
            "x": 0,
            "y": i * 20,
        }
        for i in range(40)
    ],
}
