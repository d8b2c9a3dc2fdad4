"""One socket write per connection per turn of the event loop (api/http_protocol.py), and the HTTP it serves."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from api.cli import _http_protocol
from api.http_protocol import FLUSH_AT, OneWriteHttpToolsProtocol, OneWritePerTurn
from api.settings import Settings
from tests.live import serve


class _Transport:
    """What reaches the socket, call by call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False
        self.closed_after: int | None = None

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.closed_after = len(self.writes)

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


async def _turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def _kept(transport: _Transport) -> tuple[OneWritePerTurn, asyncio.AbstractEventLoop]:
    loop = asyncio.get_running_loop()
    return OneWritePerTurn(transport, loop), loop  # type: ignore[arg-type]


def test_the_writes_of_one_turn_reach_the_socket_as_one_in_order() -> None:
    asyncio.run(_the_writes_of_one_turn_reach_the_socket_as_one_in_order())


async def _the_writes_of_one_turn_reach_the_socket_as_one_in_order() -> None:
    transport = _Transport()
    one, _ = _kept(transport)
    one.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    one.write(bytearray(b"o"))
    one.write(memoryview(b"k"))
    one.write(b"")
    assert transport.writes == []  # nothing yet: the turn is not over
    assert one.get_write_buffer_size() == 7 + len(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    await _turn()
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    one.write(b"next")
    await _turn()
    assert transport.writes[1:] == [b"next"]


def test_close_writes_what_is_kept_first_and_a_closed_connection_drops_it() -> None:
    asyncio.run(_close_writes_what_is_kept_first_and_a_closed_connection_drops_it())


async def _close_writes_what_is_kept_first_and_a_closed_connection_drops_it() -> None:
    transport = _Transport()
    one, _ = _kept(transport)
    one.writelines([b"a", b"b"])
    one.close()
    assert transport.writes == [b"ab"] and transport.closed_after == 1
    await _turn()
    assert transport.writes == [b"ab"]

    gone = _Transport()
    one, _ = _kept(gone)
    one.write(b"late")
    gone.closing = True  # the peer went away before the turn ended
    await _turn()
    assert gone.writes == []


def test_a_large_body_reaches_the_transport_at_once_so_flow_control_still_holds_the_app_back() -> None:
    asyncio.run(_a_large_body_reaches_the_transport_at_once_so_flow_control_still_holds_the_app_back())


async def _a_large_body_reaches_the_transport_at_once_so_flow_control_still_holds_the_app_back() -> None:
    transport = _Transport()
    one, _ = _kept(transport)
    one.write(b"h" * 10)
    one.write(b"b" * FLUSH_AT)
    assert transport.writes == [b"h" * 10 + b"b" * FLUSH_AT]
    assert one.get_write_buffer_size() == 7
    await _turn()
    assert len(transport.writes) == 1


def test_everything_else_is_the_transports_own() -> None:
    asyncio.run(_everything_else_is_the_transports_own())


async def _everything_else_is_the_transports_own() -> None:
    transport = _Transport()
    one, _ = _kept(transport)
    assert one.get_extra_info("peername") == ("127.0.0.1", 1)
    assert one.is_closing() is False


def test_auxduty_serve_uses_it_unless_told_not_to() -> None:
    assert _http_protocol(Settings()) is OneWriteHttpToolsProtocol
    assert _http_protocol(Settings(http_one_write=False)) == "auto"


async def _chunks() -> AsyncIterator[bytes]:
    for i in range(64):
        yield bytes([65 + i % 26]) * 4096
        await asyncio.sleep(0)


async def _echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


_app = FastAPI(routes=[
    Route("/small/{n}", lambda r: PlainTextResponse(f"answer {r.path_params['n']}")),
    Route("/stream", lambda r: StreamingResponse(_chunks(), media_type="application/octet-stream")),
    Route("/echo", _echo, methods=["POST"]),
])
_STREAM = b"".join(bytes([65 + i % 26]) * 4096 for i in range(64))


def _read_all(sock: socket.socket, until: bytes, count: int, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(until) < count and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture(scope="module")
def live() -> Any:
    with serve(_app, http=OneWriteHttpToolsProtocol) as base:
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def test_pipelined_requests_are_answered_whole_and_in_order(live: tuple[str, int]) -> None:
    with socket.create_connection(live) as sock:
        sock.sendall(b"".join(f"GET /small/{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for i in range(5)))
        data = _read_all(sock, b"HTTP/1.1 200", 5)
        for i in range(5):
            data = data[data.index(b"HTTP/1.1 200"):]
            head, _, rest = data.partition(b"\r\n\r\n")
            assert b"content-length: " + str(len(f"answer {i}")).encode() in head.lower()
            assert rest.startswith(f"answer {i}".encode())
            data = rest


def test_a_streamed_body_arrives_whole(live: tuple[str, int]) -> None:
    with socket.create_connection(live) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = _read_all(sock, b"\r\n0\r\n\r\n", 1)
    head, _, chunked = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    body, rest = b"", chunked
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2:]
    assert body == _STREAM


def test_connection_close_ends_after_the_whole_answer(live: tuple[str, int]) -> None:
    with socket.create_connection(live) as sock:
        sock.sendall(b"GET /small/7 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        sock.settimeout(10)
        data = b""
        while chunk := sock.recv(65536):  # the server closes: recv returns b"" after the answer
            data += chunk
    assert data.endswith(b"\r\n\r\nanswer 7")


def test_expect_100_continue_then_the_answer(live: tuple[str, int]) -> None:
    body = b"x" * 1000
    with socket.create_connection(live) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
        interim = _read_all(sock, b"100 Continue\r\n\r\n", 1)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        data = interim + _read_all(sock, body, 1)
    assert data.endswith(b"\r\n\r\n" + body) and b"HTTP/1.1 200 OK" in data
