"""A TCP proxy that cuts every connection at chosen points, like a phone losing signal.

Counts the bytes going up (client to server), so a test or benchmark can see
how much a resumable upload sent again after each cut, and splits them into
HTTP/1.1 request heads and bodies, so file bytes sent again can be told apart
from the headers every request carries.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Requests:
    """Follows HTTP/1.1 requests in one connection's upward bytes (Content-Length bodies)."""

    def __init__(self, proxy: CuttingProxy) -> None:
        self.proxy = proxy
        self.head = b""
        self.body_left = 0

    def feed(self, data: bytes) -> None:
        while data:
            if self.body_left:
                taken = min(self.body_left, len(data))
                self.proxy.body_bytes += taken
                self.body_left -= taken
                data = data[taken:]
                continue
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[: end + 4], self.head[end + 4 :]
            self.head = b""
            self.proxy.head_bytes += len(head)
            self.proxy.requests += 1
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    self.body_left = int(value.strip())


class CuttingProxy:
    def __init__(self, target_port: int, cuts: list[int]) -> None:
        self.target_port = target_port
        self.cuts = sorted(cuts)  # cut when this many bytes in total have gone up
        self.sent_up = 0
        self.head_bytes = 0  # request lines and headers
        self.body_bytes = 0  # request bodies
        self.requests = 0
        self.done_cuts: list[int] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, sock=sock))
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        self._writers.update({client_w, server_w})
        requests = _Requests(self)

        def cut() -> None:
            for writer in (client_w, server_w):
                transport = writer.transport
                if transport is not None:
                    transport.abort()

        async def up() -> None:
            while data := await client_r.read(16384):
                pending = [c for c in self.cuts if c not in self.done_cuts]
                if pending and self.sent_up + len(data) >= pending[0]:
                    keep = pending[0] - self.sent_up
                    server_w.write(data[:keep])
                    requests.feed(data[:keep])
                    self.sent_up += keep
                    self.done_cuts.append(pending[0])
                    await server_w.drain()
                    cut()
                    return
                server_w.write(data)
                requests.feed(data)
                self.sent_up += len(data)
                await server_w.drain()
            server_w.close()

        async def down() -> None:
            while data := await server_r.read(16384):
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        try:
            await asyncio.gather(up(), down())
        except (ConnectionError, OSError):
            cut()
        finally:
            self._writers.discard(client_w)
            self._writers.discard(server_w)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for writer in list(self._writers):
                if writer.transport is not None:
                    writer.transport.abort()
            await self._server.wait_closed()
            here = asyncio.current_task()
            handlers = [t for t in asyncio.all_tasks() if t is not here]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextmanager
def cutting_proxy(target_port: int, cuts: list[int]) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(target_port, cuts)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
