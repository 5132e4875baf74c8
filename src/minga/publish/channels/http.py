"""One HTTP exchange with a platform, its failures sorted by what they mean.

What matters to a channel is whether the platform may have acted on a request:

- the connection never opened, or the request was not written whole: it did
  not act, trying again is safe (:class:`~minga.exceptions.RetryLater`);
- the request went out and the answer was lost (a reset, a timeout while
  waiting, a gateway timeout): it may have acted. A request the platform
  deduplicates (``safe=True``: an idempotency key, a record key chosen by us,
  an edit, a delete) is tried again; any other is
  :class:`~minga.exceptions.Uncertain`, so nothing is posted twice;
- 429 and 500/502/503: the platform says it did not do it; try again, after the
  wait it asked for;
- any other status is the platform's refusal: :class:`Reply` carries it for the
  channel to read its error body.

A connection is opened per request (no keep-alive pool): a pooled connection
the server closed while idle would turn a safe retry into an uncertain one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from minga import __version__
from minga.exceptions import PublishError, RetryLater, Uncertain

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"minga/{__version__} (syndication)"
RETRYABLE = {429, 500, 502, 503}
MAX_ANSWER_BYTES = 4 << 20


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; a clear error when it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PublishError(
                f"HTTP {self.status} answer is not JSON: {self.body[:200]!r}"
            ) from exc


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a platform asked for: ``Retry-After`` in seconds, else the
    ``X-RateLimit-Reset`` time (ISO 8601, as Mastodon sends it)."""
    value = headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    reset = headers.get("x-ratelimit-reset", "").strip()
    if seconds < 0 and reset:
        try:
            moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
        seconds = max(seconds, 0.0)
    return seconds if 0 <= seconds < 86400 * 7 else None


class Http:
    """Makes requests for one channel. ``transport`` is the seam tests may use."""

    def __init__(
        self,
        name: str,
        transport: httpx.BaseTransport | None = None,
        hint: Callable[[Reply], float | None] | None = None,
    ) -> None:
        self.name = name
        self.transport = transport
        self.hint = hint  # reads the wait a platform asked for from its error body

    def request(
        self,
        method: str,
        url: str,
        *,
        safe: bool,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        params: Mapping[str, str] | None = None,
        label: str = "",
    ) -> Reply:
        """Send one request; raise for what cannot be read as the platform's answer
        (see the module docstring), return anything else as a :class:`Reply`."""
        # label: what to call the request in messages when its URL holds a secret
        what = f"{self.name}: {label or f'{method} {httpx.URL(url).path}'}"
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        try:
            with httpx.Client(
                timeout=TIMEOUT,
                transport=self.transport,
                limits=httpx.Limits(max_keepalive_connections=0),
                follow_redirects=False,
            ) as client:
                request = client.build_request(
                    method,
                    url,
                    headers=sent,
                    json=json_body,
                    content=content,
                    data=data,
                    files=files,
                    params=params,
                )
                response = client.send(request, stream=True)
                try:
                    body = b""
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_ANSWER_BYTES:
                            raise PublishError(f"{what}: answer larger than {MAX_ANSWER_BYTES}")
                    reply = Reply(response.status_code, response.headers, body)
                finally:
                    response.close()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise RetryLater(f"{what}: cannot connect ({exc or type(exc).__name__})") from exc
        except (httpx.WriteError, httpx.WriteTimeout) as exc:
            raise RetryLater(
                f"{what}: request not sent whole ({exc or type(exc).__name__})"
            ) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # Sent, and the answer lost or mangled: the platform may have acted.
            detail = f"{what}: no answer after sending ({exc or type(exc).__name__})"
            if safe:
                raise RetryLater(detail) from exc
            raise Uncertain(detail) from exc
        if reply.status in RETRYABLE:
            after = retry_after(reply.headers)
            if after is None and self.hint is not None:
                after = self.hint(reply)
            raise RetryLater(f"{what}: HTTP {reply.status} {reply.body[:200]!r}", after)
        if reply.status == 504 or (reply.status >= 500 and not safe):
            # A gateway gave up waiting for the platform, which may have acted.
            detail = f"{what}: HTTP {reply.status}, the platform may have acted"
            if safe:
                raise RetryLater(detail)
            raise Uncertain(detail)
        if reply.status >= 500:
            raise RetryLater(f"{what}: HTTP {reply.status} {reply.body[:200]!r}")
        if 300 <= reply.status < 400:
            raise PublishError(
                f"{what}: redirected to {reply.headers.get('location', '?')}: check the URL setting"
            )
        return reply
