"""A small threaded HTTP server for the platform stand-ins.

Each stand-in subclasses :class:`StandIn` and answers requests in
``handle(request)``; the server records every request it read, and can be
told to misbehave for the next requests that match a path:

- ``fail(path, status, body, headers)``: answer with that error, doing nothing;
- ``drop(path)``: carry the request out, then close the connection without
  answering (the answer is lost on the way back).

It runs in a thread on a free loopback port; ``close()`` stops it and waits for
every connection to end. HTTP/1.0: one request per connection, so no idle
keep-alive connection can hold the server open.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lowercased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, Any]:
        """A urlencoded or multipart body: field -> value (str), or (filename, bytes, type)
        for a file part; repeated fields (``a[]``) -> list."""
        kind = self.headers.get("content-type", "")
        fields: dict[str, Any] = {}

        def put(name: str, value: Any) -> None:
            if name.endswith("[]"):
                fields.setdefault(name, []).append(value)
            else:
                fields[name] = value

        if kind.startswith("application/x-www-form-urlencoded"):
            for name, value in parse_qsl(self.body.decode(), keep_blank_values=True):
                put(name, value)
        elif kind.startswith("multipart/form-data"):
            head = f"Content-Type: {kind}\r\nMIME-Version: 1.0\r\n\r\n".encode()
            message = BytesParser(policy=HTTP).parsebytes(head + self.body)
            if not message.is_multipart():
                raise ValueError("not a multipart body")
            for part in message.iter_parts():  # type: ignore[attr-defined]
                name = part.get_param("name", header="content-disposition")
                if part.get_filename() is not None:
                    put(
                        name,
                        (
                            part.get_filename(),
                            part.get_payload(decode=True),
                            part.get_content_type(),
                        ),
                    )
                else:
                    put(name, part.get_payload(decode=True).decode())
        elif kind.startswith("application/json") and self.body:
            fields = dict(self.json())
        return fields


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # JSON-able, or bytes as they are
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Trouble:
    path: str
    answer: Answer | None  # None: drop the connection after acting
    times: int
    method: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        request = Request(
            self.command, split.path, query, {k.lower(): v for k, v in self.headers.items()}, body
        )
        standin = self.server.standin
        trouble = standin._trouble_for(request)
        with standin.lock:
            standin.requests.append(request)
        if trouble is not None and trouble.answer is not None:
            answer = trouble.answer
        else:
            try:
                answer = standin.handle(request)
            except Exception as exc:  # a defect of the stand-in: show it to the test
                standin.errors.append(exc)
                answer = Answer(500, {"error": f"stand-in defect: {exc!r}"})
            if trouble is not None:  # acted, and the answer is lost
                self.close_connection = True
                return
        payload = (
            answer.body
            if isinstance(answer.body, bytes)
            else json.dumps(answer.body).encode()
            if answer.body is not None
            else b""
        )
        self.send_response(answer.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    standin: StandIn


class StandIn:
    """Base of the stand-ins: override :meth:`handle`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.errors: list[Exception] = []
        self._troubles: list[_Trouble] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()
        assert not self.errors, self.errors

    @contextmanager
    def running(self) -> Iterator[Any]:
        self.start()
        try:
            yield self
        finally:
            self.close()

    # -- trouble ---------------------------------------------------------
    def fail(
        self,
        path: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        answer = Answer(status, body, headers or {})
        with self.lock:
            self._troubles.append(_Trouble(path, answer, times, method))

    def drop(self, path: str, times: int = 1, method: str | None = None) -> None:
        with self.lock:
            self._troubles.append(_Trouble(path, None, times, method))

    def _trouble_for(self, request: Request) -> _Trouble | None:
        with self.lock:
            for trouble in self._troubles:
                method = trouble.method in (None, request.method)
                if trouble.path in request.path and trouble.times > 0 and method:
                    trouble.times -= 1
                    return trouble
        return None

    def calls(self, path: str, method: str | None = None) -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.requests
                if path in r.path and (method is None or r.method == method)
            ]

    def handle(self, request: Request) -> Answer:  # pragma: no cover - overridden
        raise NotImplementedError


def parse_message(raw: bytes) -> Message:
    return BytesParser().parsebytes(raw)
