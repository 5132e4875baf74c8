"""Posting a batch of events to one relay over one websocket (NIP-01 EVENT/OK).

All events are sent first, then the answers are read: a relay far away costs
one round trip per batch, not one per event. A relay asking for NIP-42
authentication gets it (with the keys given) and the events it refused for
that reason are sent once more. Some relays answer a refusal with an ``OK``
that names no event id; when that happens the events still unanswered are
sent again one at a time, so each answer belongs to one event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from minga.events.event import Event
from minga.events.kinds import CLIENT_AUTH
from minga.events.signing import SecretKey, sign_event
from minga.exceptions import RetryLater

OPEN_TIMEOUT = 15.0
ANSWER_TIMEOUT = 20.0  # for the whole batch's OK messages, after the last send
MAX_FRAME = 4 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    ok: bool
    message: str


def auth_event(key: SecretKey, relay: str, challenge: str) -> Event:
    return sign_event(key, CLIENT_AUTH, "", [["relay", relay], ["challenge", challenge]])


@dataclass
class _Session:
    ws: ClientConnection
    relay: str
    auth_keys: Sequence[SecretKey]
    pending: dict[str, Event]
    answers: dict[str, Answer] = field(default_factory=dict)
    anonymous: list[Answer] = field(default_factory=list)
    authed: bool = False
    resent: set[str] = field(default_factory=set)
    sent: int = 0
    stopping: threading.Event | None = None  # the node is stopping: give up waiting

    def send(self, event: Event) -> None:
        self.sent += 1
        self.ws.send(json.dumps(["EVENT", event.to_dict()], ensure_ascii=False))

    def read(self, timeout: float, only: str | None = None) -> None:
        """Take answers until every pending event (or ``only``) has one, or
        ``timeout`` passes; with ``only``, an answer without an id ends it too."""
        deadline = time.monotonic() + timeout
        while self._waiting(only) and (left := deadline - time.monotonic()) > 0:
            if self.stopping is not None and self.stopping.is_set():
                return  # unanswered events are tried again after the restart
            try:
                message = json.loads(self.ws.recv(timeout=min(left, 0.5)))
            except TimeoutError:
                continue  # the loop ends at the deadline
            except ValueError:
                continue  # not JSON: a broken relay, whatever it said
            if not isinstance(message, list) or not message:
                continue
            if message[0] == "AUTH" and len(message) > 1:
                self._auth(str(message[1]))
            elif message[0] == "OK" and len(message) >= 3:
                text = str(message[3])[:500] if len(message) > 3 else ""
                answer = Answer(message[2] is True, text)
                event_id = str(message[1])
                if event_id not in self.pending:
                    self.anonymous.append(answer)
                    if only:
                        return
                    continue
                if self._resend(event_id, answer):
                    deadline = time.monotonic() + timeout
                    continue
                self.answers[event_id] = answer
                del self.pending[event_id]

    def _waiting(self, only: str | None) -> bool:
        if only is not None:
            return only in self.pending
        # Every event sent has had an answer, with its id or without one.
        return bool(self.pending) and len(self.answers) + len(self.anonymous) < self.sent

    def _auth(self, challenge: str) -> None:
        if self.authed or not self.auth_keys:
            return
        self.authed = True
        for key in self.auth_keys:
            auth = auth_event(key, self.relay, challenge)
            self.ws.send(json.dumps(["AUTH", auth.to_dict()]))

    def _resend(self, event_id: str, answer: Answer) -> bool:
        """After authenticating, send once more what was refused for want of it."""
        if answer.ok or not answer.message.startswith("auth-required:") or not self.auth_keys:
            return False
        if event_id in self.resent:
            return False
        self.resent.add(event_id)
        self.sent -= 1  # the refusal just read counts for nothing
        self.send(self.pending[event_id])
        return True


def post(
    relay: str,
    events: Sequence[Event],
    auth_keys: Sequence[SecretKey] = (),
    answer_timeout: float = ANSWER_TIMEOUT,
    stopping: threading.Event | None = None,
) -> dict[str, Answer]:
    """Send ``events`` to ``relay``; return the relay's answer per event id.

    Events the relay did not answer are missing from the result. A relay that
    cannot be reached raises :class:`~minga.exceptions.RetryLater`.
    """
    answers: dict[str, Answer] = {}
    try:
        with connect(relay, open_timeout=OPEN_TIMEOUT, max_size=MAX_FRAME, close_timeout=2) as ws:
            session = _Session(ws, relay, auth_keys, {e.id: e for e in events}, answers)
            session.stopping = stopping
            for event in events:
                session.send(event)
            session.read(answer_timeout)
            if session.anonymous and session.pending:
                for event in list(session.pending.values()):
                    session.anonymous.clear()
                    session.send(event)
                    session.read(answer_timeout, only=event.id)
                    if event.id in session.pending and session.anonymous:
                        answers[event.id] = session.anonymous[0]
                        del session.pending[event.id]
    except (OSError, TimeoutError, WebSocketException) as exc:
        if not answers:
            raise RetryLater(f"{relay}: {type(exc).__name__}: {exc}"[:500]) from exc
    return answers
