"""uvicorn's h11 protocol with a deadline for request headers.

uvicorn closes idle keep-alive connections (`timeout_keep_alive`) but sets no deadline on a request
whose headers arrive byte by byte, nor on a connection that opens and sends nothing: a few hundred
such clients would hold every socket (slowloris). This subclass arms a timer when a connection
opens and whenever a new request starts, and closes the connection if the headers are not
complete by `ServerConfig.header_timeout`. `renderer serve` selects it; other servers have their
own settings for this (gunicorn `--timeout`, hypercorn `--read-timeout`).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DeadlineH11Protocol"]


@cache
def _header_timeout() -> float:
    from .config import config_from_env

    return config_from_env().header_timeout


class DeadlineH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_header_timeout(), self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
