"""NIP-46 remote signing: the node asks a person's own signer ("bunker") to sign.

The person gives a ``bunker://<signer pubkey>?relay=…&secret=…`` address; the
node keeps a client key for that connection (never the person's key) and talks
to the signer with NIP-44-encrypted kind 24133 events over the relays named.
Every request opens its own short connection: signing is rare (a reporter
filing) and a fresh connection survives changing networks.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.utils.translation import gettext as _
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from minga.events.event import Event
from minga.events.kinds import NOSTR_CONNECT
from minga.events.signing import SecretKey, sign_event
from minga.events.validate import parse_event
from minga.exceptions import Forbidden, InvalidInput, MingaError
from minga.keys import nip44

_HEX = re.compile(r"[0-9a-f]{64}")
TIMEOUT = 45.0  # a person may have to unlock their phone to approve


class RemoteSignerError(Forbidden):
    """The remote signer refused, answered wrongly, or could not be reached."""


@dataclass(frozen=True)
class Bunker:
    signer: str
    relays: tuple[str, ...]
    secret: str

    def uri(self) -> str:
        relays = "&".join(f"relay={r}" for r in self.relays)
        return f"bunker://{self.signer}?{relays}" + (
            f"&secret={self.secret}" if self.secret else ""
        )


def parse_uri(text: str) -> Bunker:
    text = text.strip()
    parsed = urlparse(text)
    if parsed.scheme != "bunker" or not _HEX.fullmatch(parsed.netloc or ""):
        raise InvalidInput(_("a remote signer address looks like bunker://<key>?relay=wss://…"))
    query = parse_qs(parsed.query)
    relays = tuple(
        r for r in query.get("relay", []) if r.startswith(("wss://", "ws://")) and len(r) < 300
    )
    if not relays:
        raise InvalidInput(_("the remote signer address names no relay"))
    secret = query.get("secret", [""])[0][:200]
    return Bunker(parsed.netloc, relays[:5], secret)


class RemoteSigner:
    def __init__(self, bunker: Bunker, client: SecretKey, timeout: float = TIMEOUT) -> None:
        self.bunker = bunker
        self.client = client
        self.timeout = timeout
        self.key = nip44.conversation_key(client.secret_bytes(), bunker.signer)

    def _request(self, method: str, params: list[str]) -> str:
        request_id = secrets.token_hex(8)
        body = json.dumps({"id": request_id, "method": method, "params": params})
        request = sign_event(
            self.client, NOSTR_CONNECT, nip44.encrypt(body, self.key), [["p", self.bunker.signer]]
        )
        failures = []
        for relay in self.bunker.relays:
            try:
                return self._exchange(relay, request, request_id)
            except RemoteSignerError:
                raise
            except (OSError, WebSocketException, TimeoutError, ValueError) as exc:
                failures.append(f"{relay}: {exc}")
        raise RemoteSignerError(
            _("the remote signer could not be reached (%(detail)s)")
            % {"detail": "; ".join(failures)[:300]}
        )

    def _exchange(self, relay: str, request: Event, request_id: str) -> str:
        deadline = time.monotonic() + self.timeout
        subscription = secrets.token_hex(4)
        with connect(relay, open_timeout=10, close_timeout=2) as ws:
            since = int(time.time()) - 30
            ws.send(
                json.dumps(
                    [
                        "REQ",
                        subscription,
                        {"kinds": [NOSTR_CONNECT], "#p": [self.client.pubkey], "since": since},
                    ]
                )
            )
            ws.send(json.dumps(["EVENT", request.to_dict()]))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no answer from the remote signer")
                message = json.loads(ws.recv(timeout=left))
                if message[0] == "OK" and message[1] == request.id and not message[2]:
                    raise RemoteSignerError(
                        _("the relay refused the request: %(reason)s") % {"reason": message[3]}
                    )
                if message[0] != "EVENT" or message[1] != subscription:
                    continue
                answer = self._open(message[2])
                if answer is None or answer.get("id") != request_id:
                    continue
                if answer.get("result") == "auth_url":
                    continue  # the signer asks its person to approve elsewhere: keep waiting
                if answer.get("error"):
                    raise RemoteSignerError(
                        _("the remote signer said no: %(reason)s")
                        % {"reason": str(answer["error"])[:200]}
                    )
                return str(answer.get("result", ""))

    def _open(self, obj: Any) -> dict[str, Any] | None:
        try:
            event = parse_event(obj)
        except MingaError:
            return None
        if event.pubkey != self.bunker.signer or event.kind != NOSTR_CONNECT:
            return None
        try:
            answer = json.loads(nip44.decrypt(event.content, self.key))
        except (MingaError, ValueError):
            return None
        return answer if isinstance(answer, dict) else None

    def connect(self) -> None:
        params = [self.bunker.signer] + ([self.bunker.secret] if self.bunker.secret else [])
        result = self._request("connect", params)
        if result not in ("ack", self.bunker.secret):
            raise RemoteSignerError(_("the remote signer did not accept the connection"))

    def get_public_key(self) -> str:
        pubkey = self._request("get_public_key", [])
        if not _HEX.fullmatch(pubkey):
            raise RemoteSignerError(_("the remote signer sent no valid public key"))
        return pubkey

    def sign_event(self, kind: int, content: str, tags: list[list[str]], created_at: int) -> Event:
        template = {"kind": kind, "content": content, "tags": tags, "created_at": created_at}
        result = self._request("sign_event", [json.dumps(template)])
        try:
            event = parse_event(json.loads(result))
        except (MingaError, ValueError) as exc:
            raise RemoteSignerError(_("the remote signer sent back an invalid event")) from exc
        if (event.kind, event.content, event.tags, event.created_at) != (
            kind,
            content,
            tags,
            created_at,
        ):
            raise RemoteSignerError(_("the remote signer signed something else than asked"))
        return event
