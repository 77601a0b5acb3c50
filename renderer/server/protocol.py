"""uvicorn's HTTP protocols with a deadline for request headers.

uvicorn closes idle keep-alive connections (`timeout_keep_alive`) but sets no deadline on a request
whose headers arrive byte by byte, nor on a connection that opens and sends nothing: a few hundred
such clients would hold every socket (slowloris). These subclasses arm a timer when a connection
opens and whenever a new request starts, and close the connection if the headers are not
complete by `ServerConfig.header_timeout`. `renderer serve` selects one (`http_protocol`); other
servers have their own settings for this (gunicorn `--timeout`, hypercorn `--read-timeout`).

Two parsers, because they differ in cost: httptools (llhttp, the parser Node's HTTP server uses,
in C) where it is installed, as it is with renderer; h11 (pure Python) otherwise. On the blog
card at one client httptools takes the server process from 0.90 to 0.78 ms of CPU a request
(`benchmarks/load.py`), and requests per second from 163 to 170.
"""

from __future__ import annotations

import asyncio
import importlib.util
from functools import cache

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DeadlineH11Protocol", "http_protocol"]


_HTTPTOOLS = importlib.util.find_spec("httptools") is not None


def http_protocol() -> str:
    """The protocol class `renderer serve` hands uvicorn: httptools' when it is installed."""
    if _HTTPTOOLS:
        return "renderer.server.protocol:DeadlineHttpToolsProtocol"
    return "renderer.server.protocol:DeadlineH11Protocol"


@cache
def _header_timeout() -> float:
    from .config import config_from_env

    return config_from_env().header_timeout


class _Deadline(asyncio.Protocol):
    """What both protocols share, placed before uvicorn's class in each: the timer, armed when
    a connection opens and stopped when it is lost, and `_expired`, which closes a connection
    still waiting for headers."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_header_timeout(), self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.close()

    def _awaiting_headers(self) -> bool:
        return True  # the timer runs only until a request's headers are complete


class DeadlineH11Protocol(_Deadline, H11Protocol):
    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()

    def _awaiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE


if _HTTPTOOLS:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class DeadlineHttpToolsProtocol(_Deadline, HttpToolsProtocol):
        """The same deadline on httptools' callbacks: armed when the connection opens and when
        a request's first byte arrives (`on_message_begin`), disarmed once its headers are
        complete; an idle keep-alive connection is left to uvicorn's keep-alive timeout."""

        def on_message_begin(self) -> None:
            self._arm()
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
