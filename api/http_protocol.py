"""uvicorn's HTTP protocol (httptools) with one socket write per connection per turn of the event loop.

uvicorn writes a response's status line and headers the moment the app sends ``http.response.start``, and its
body with ``http.response.body``: two ``send()`` calls, two packets, and the peer (a phone, nginx, wrk) woken
twice for every answer. Each of those system calls is made holding the interpreter lock; on a busy host the
first one wakes the peer, the scheduler may run it at once, and the service's threads wait for the lock of a
process that is not running. Profiled under 32 connections of badge scans with status changes, the two writes
held the lock 37 % of the time.

Here what the app writes during one turn of the loop is kept, in order, and written with one ``send()`` at the
start of the next turn (``loop.call_soon``): a small answer leaves as one packet, as soon as the loop gets to it,
before it waits for anything else. Nothing changes in what is sent or its order; ``close()`` writes what is
kept first; a connection the peer has closed drops it, as the transport would. Flow control is untouched: what
is kept reaches the transport at once past ``FLUSH_AT`` bytes, so a large or streamed body fills the transport's
own buffer, whose pause and resume callbacks hold the app back as before.

``auxduty serve`` uses it unless ``AUXDUTY_HTTP_ONE_WRITE=0`` (api/settings.py).
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

FLUSH_AT = 64 * 1024


class OneWritePerTurn:
    """A transport whose ``write`` calls in one turn of the loop reach the socket as one ``write``."""

    __slots__ = ("_kept", "_loop", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._kept:
            self._loop.call_soon(self.flush)
        self._kept.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if not self._kept:
            return
        data = self._kept[0] if len(self._kept) == 1 else b"".join(self._kept)
        self._kept.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol writing through ``OneWritePerTurn``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = OneWritePerTurn(transport, self.loop)  # type: ignore[assignment]
