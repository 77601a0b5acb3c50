"""The header deadline of `renderer serve`'s HTTP protocols (renderer/server/protocol.py), for
both parsers: each served by a real uvicorn on a loopback port, spoken to over raw sockets.

A slow client must lose its connection once the deadline passes without complete headers (one
that trickles them, one that sends nothing), and a client that is not slow must lose nothing:
its requests are answered, and a keep-alive connection idle for longer than the deadline
between two requests still serves the second."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvicorn
from server_process import served_in_thread

from renderer.server import protocol

DEADLINE = 0.5  # s, in place of ServerConfig.header_timeout's 10
PROTOCOLS = [
    pytest.param(protocol.DeadlineH11Protocol, id="h11"),
    pytest.param(getattr(protocol, "DeadlineHttpToolsProtocol", None), id="httptools"),
]


async def _app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[Any]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    assert scope["type"] == "http"
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(params=PROTOCOLS)
def port(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    if request.param is None:
        pytest.fail("httptools is a dependency: DeadlineHttpToolsProtocol must exist")
    monkeypatch.setattr(protocol, "_header_timeout", lambda: DEADLINE)
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=0,
        http=request.param,
        log_level="warning",
        timeout_keep_alive=30,
        lifespan="off",
    )
    with served_in_thread(config) as listening:
        yield listening


def _closed_after(s: socket.socket) -> float:
    """Seconds until the server closes `s` (reads nothing from it)."""
    start = time.monotonic()
    data = s.recv(65536)
    assert data == b"", data  # closed without a response
    return time.monotonic() - start


REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_trickled_headers_are_cut_off_at_the_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert _closed_after(s) < DEADLINE + 2


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        assert _closed_after(s) < DEADLINE + 2


def _answer(s: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"ok"):
        chunk = s.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def test_an_idle_keep_alive_connection_outlives_the_header_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(REQUEST)
        assert _answer(s).startswith(b"HTTP/1.1 200 ")
        time.sleep(DEADLINE * 3)  # between requests: the keep-alive timeout's business
        s.sendall(REQUEST)
        assert _answer(s).startswith(b"HTTP/1.1 200 ")


def test_a_second_request_trickling_its_headers_is_cut_off(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(REQUEST)
        assert _answer(s).startswith(b"HTTP/1.1 200 ")
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert _closed_after(s) < DEADLINE + 2


def test_renderer_serve_picks_httptools() -> None:
    assert protocol.http_protocol().endswith(":DeadlineHttpToolsProtocol")
