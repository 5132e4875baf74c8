"""The mesh in a running node: which events go out, and what comes in.

It listens to the store. A newly stored event goes to every mesh destination
when its kind is in ``mesh_kinds``, it names no blob (media never fits a
radio link) and it fits ``mesh_max_event_bytes`` compressed. Private events
(private kinds, embargoed dispatches, the roster) go only to destinations of
the collective, never to ``:public`` ones; LXMF encrypts every message end to
end to its destination's identity, propagation nodes included. Events that
came in over the mesh are not sent out again by this node (no echo loops).

Each (destination, event) is a :class:`~minga.sync.models.MeshPost`, written
before LXMF gets the message. It is tried direct first; when the destination
has no path, or does not confirm within ``mesh_direct_timeout``, the message
goes to the propagation node, which keeps it until the destination asks.
The post is done on the recipient's delivery proof or when the propagation
node took it; else it is tried again with backoff. Posts a crash left
``running`` go back to ``pending``: a message sent twice is harmless, the
receiver's store drops the duplicate.

Incoming messages are decoded (size-capped), checked against the node's write
policy (a message from one of the collective's nodes counts as the node's
own peer, so gift wraps pass) and ingested, which verifies id and signature.
All store work happens on one thread of this service.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection
from django.db.models import F

from minga.config import Config
from minga.events.event import Event
from minga.events.filters import Filter
from minga.events.validate import Limits
from minga.exceptions import InvalidEvent, MingaError, RetryLater
from minga.publish.jobs import backoff, claim, due_in, recover
from minga.publish.models import JobState
from minga.store.ingest import ingest
from minga.store.query import query
from minga.store.visibility import Visibility
from minga.sync.blobrefs import referenced
from minga.sync.mesh import codec
from minga.sync.mesh.transport import MeshTransport, config_dir_for, mesh_dir
from minga.sync.models import Link, MeshPost, Role

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0
PROPAGATED_TIMEOUT = 900.0  # stamp work and a slow link to the propagation node
PN_SYNC_SECONDS = 300.0  # ask the propagation node for waiting messages this often
ANNOUNCE_SECONDS = 1800.0
PATH_RETRY_SECONDS = (5.0, 600.0)  # unheard destinations: first and longest wait
REMEMBER_RECEIVED = 10_000
CLAIM_BATCH = 10

# (event, sender is a node of the collective) -> None or the reason it is refused.
Refusal = Callable[[Event, bool], str | None]


def url_of(destination: str) -> str:
    return f"lxmf://{destination}"


@dataclass
class _InFlight:
    post_id: int
    message_id: str
    how: str
    deadline: float
    size: int


@dataclass
class _PathWatch:
    wait: float = PATH_RETRY_SECONDS[0]
    next_request: float = field(default_factory=time.time)


class MeshService:
    def __init__(
        self,
        config: Config,
        visibility: Visibility,
        limits: Limits,
        refusal: Refusal | None = None,
    ) -> None:
        self.config = config
        self.visibility = visibility
        self.limits = limits
        self.refusal = refusal
        self.kinds = frozenset(config.mesh_kinds)
        self.destinations: dict[str, bool] = dict(config.mesh_destinations)
        self.propagation_node: str = config.mesh_propagation_node
        self.max_bytes: int = config.mesh_max_event_bytes
        self.direct_timeout = float(config.mesh_direct_timeout)
        self.tasks: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.stopping = threading.Event()
        self.received: OrderedDict[str, None] = OrderedDict()  # ids that came in by mesh
        self.in_flight: dict[int, _InFlight] = {}
        self.paths: dict[str, _PathWatch] = {}
        self.pn_synced_at = 0.0
        self.announced_at = 0.0
        self.transport: MeshTransport | None = None
        self.address = ""
        self._thread: threading.Thread | None = None

    # -- life ---------------------------------------------------------------
    def prepare(self) -> None:
        """Database work before start (blocking: run it on a worker thread)."""
        found = recover(MeshPost, lambda post: True)
        if found:
            log.info("mesh: %d posts interrupted by a stop will be sent again", found)
        for name in [*self.destinations, self.propagation_node]:
            if name:
                Link.objects.get_or_create(role=Role.MESH, url=url_of(name))

    def start(self) -> None:
        """Start Reticulum and LXMF and the service thread. No database work, so
        it may run on the event loop's (main) thread, where Reticulum can start
        without taking the server's signal handlers (see transport)."""
        data = self.config.data_path
        self.transport = MeshTransport(
            config_dir_for(data, self.config.mesh_config_dir),
            mesh_dir(data) / "identity",
            destinations=frozenset(self.destinations),
            propagation_node=self.propagation_node,
            on_message=lambda sender, payload, error: self.tasks.put(
                ("inbound", sender, payload, error)
            ),
            on_heard=lambda name, pn: self.tasks.put(("heard", name, pn)),
        )
        self.address = self.transport.start()
        self.announced_at = time.time()
        self.paths = {name: _PathWatch() for name in self.destinations}
        log.info("mesh: this node's LXMF address is %s", self.address)
        self._thread = threading.Thread(target=self._loop, name="mesh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.tasks.put(("stop",))
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.transport is not None:
            self.transport.stop()

    # -- store listener (in the committing thread: cheap checks only) ----------
    def on_stored(self, events: list[Event], private: frozenset[str]) -> None:
        chosen = [e for e in events if e.kind in self.kinds and e.id not in self.received]
        if chosen:
            self.tasks.put(("stored", chosen, private))

    # -- the service thread -----------------------------------------------------
    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                wait = self._housekeeping()
                try:
                    task = self.tasks.get(timeout=wait)
                except queue.Empty:
                    continue
                if task[0] == "stop":
                    break
                self._handle(task)
            except Exception:
                log.exception("mesh: service step failed")
                time.sleep(1)
            finally:
                close_old_connections()
        connection.close()

    def _handle(self, task: tuple[Any, ...]) -> None:
        kind = task[0]
        if kind == "stored":
            self._enqueue(task[1], task[2])
        elif kind == "inbound":
            self._receive(task[1], task[2], task[3])
        elif kind == "outcome":
            self._outcome(task[1], task[2], task[3], task[4], task[5])
        elif kind == "heard":
            self._heard(task[1], task[2])

    def _housekeeping(self) -> float:
        """Periodic work; returns how long the loop may sleep."""
        now = time.time()
        transport = self.transport
        assert transport is not None
        for post_id, flight in list(self.in_flight.items()):
            if now > flight.deadline:
                transport.cancel(flight.message_id)
                error = f"no confirmation within the {flight.how} timeout"
                self._outcome(post_id, flight.message_id, False, flight.how, error)
        for name, watch in self.paths.items():
            if now >= watch.next_request and not transport.known(name):
                transport.request_path(name)
                watch.next_request = now + watch.wait
                watch.wait = min(watch.wait * 2, PATH_RETRY_SECONDS[1])
        pn = self.propagation_node
        if pn and now - self.pn_synced_at > PN_SYNC_SECONDS:
            if transport.has_path(pn):
                self.pn_synced_at = now
                transport.sync_from_propagation_node()
            elif pn not in self.paths:
                self.paths[pn] = _PathWatch()
        if now - self.announced_at > ANNOUNCE_SECONDS:
            self.announced_at = now
            transport.announce()
        self._send_due()
        nxt = due_in(MeshPost)
        return POLL_SECONDS if nxt is None else max(0.05, min(POLL_SECONDS, nxt))

    # -- outbound -----------------------------------------------------------------
    def _enqueue(self, events: list[Event], private: frozenset[str]) -> None:
        posts = []
        for event in events:
            if referenced(event):
                log.debug("mesh: %s names blobs, not sent", event.id[:12])
                continue
            try:
                codec.encode(event, self.max_bytes)
            except MingaError as exc:
                log.info("mesh: %s", exc.message)
                continue
            secret = event.id in private or self.visibility.is_private(event)
            posts += [
                MeshPost(destination=name, event_id=event.id)
                for name, collective in self.destinations.items()
                if collective or not secret
            ]
        if posts:
            MeshPost.objects.bulk_create(posts, ignore_conflicts=True)
            self._update_pending()

    def _send_due(self) -> None:
        for post in claim(MeshPost, CLAIM_BATCH):
            post.attempts += 1
            try:
                self._send(post)
            except RetryLater as exc:
                self._retry(post, exc.message, after=exc.after)
            except MingaError as exc:
                post.state = JobState.FAILED
                post.last_error = exc.message[:2000]
                post.save()
            except Exception as exc:  # a defect: record it, keep the others going
                log.exception("mesh: sending %s failed", post)
                post.state = JobState.FAILED
                post.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                post.save()

    def _send(self, post: MeshPost, *, propagated: bool | None = None) -> None:
        transport = self.transport
        assert transport is not None
        rows = query([Filter(ids=frozenset([post.event_id]))], private=True, everything=True)
        if not rows:
            post.state = JobState.DONE
            post.last_error = "no longer in the store"
            post.save()
            return
        payload = codec.encode(rows[0].event(), self.max_bytes)
        if propagated is None:
            propagated = bool(self.propagation_node) and not transport.has_path(post.destination)
        if propagated and not self.propagation_node:
            raise RetryLater("the destination is out of reach and no propagation node is set")
        how = "propagated" if propagated else "direct"
        post_id = post.pk
        sent: list[str] = []  # the message id, known once LXMF has it

        def outcome(ok: bool, how: str, error: str) -> None:
            self.tasks.put(("outcome", post_id, sent[0] if sent else "", ok, how, error))

        message_id = transport.send(
            post.destination, payload, propagated=propagated, outcome=outcome
        )
        sent.append(message_id)
        timeout = PROPAGATED_TIMEOUT if propagated else self.direct_timeout
        self.in_flight[post_id] = _InFlight(
            post_id, message_id, how, time.time() + timeout, len(payload)
        )
        post.message_id = message_id
        post.save(update_fields=["attempts", "message_id", "updated"])
        Link.objects.filter(role=Role.MESH, url=url_of(post.destination)).update(
            last_attempt=int(time.time())
        )

    def _outcome(self, post_id: int, message_id: str, ok: bool, how: str, error: str) -> None:
        flight = self.in_flight.get(post_id)
        if flight is None or (message_id and flight.message_id != message_id):
            return  # a late answer about a message given up on (or already settled)
        del self.in_flight[post_id]
        post = MeshPost.objects.filter(pk=post_id, state=JobState.RUNNING).first()
        if post is None:
            return
        now = int(time.time())
        link = Link.objects.filter(role=Role.MESH, url=url_of(post.destination))
        if ok:
            post.state = JobState.DONE
            post.last_error = "" if how == "direct" else "handed to the propagation node"
            post.save()
            size = flight.size if flight else 0
            changes: dict[str, Any] = {
                "events_out": F("events_out") + 1,
                "bytes_out": F("bytes_out") + size,
            }
            if how == "direct":
                changes.update(last_contact=now, connected=True)
            link.update(**changes)
            self._update_pending()
            return
        if how == "direct" and self.propagation_node:
            log.info("mesh: %s not delivered direct (%s), via the propagation node", post, error)
            try:
                self._send(post, propagated=True)
                return
            except MingaError as exc:
                error = f"{error}; propagation: {exc.message}"
        link.update(last_error=error[:2000], last_error_at=now, connected=False)
        self._retry(post, error)

    def _retry(self, post: MeshPost, error: str, after: float | None = None) -> None:
        post.state = JobState.PENDING
        post.next_attempt = int(time.time() + backoff(post.attempts, after))
        post.last_error = error[:2000]
        post.save()

    def _update_pending(self) -> None:
        for name in self.destinations:
            waiting = MeshPost.objects.filter(
                destination=name, state__in=[JobState.PENDING, JobState.RUNNING]
            ).count()
            Link.objects.filter(role=Role.MESH, url=url_of(name)).update(pending_out=waiting)

    def _heard(self, name: str, propagation_node: bool) -> None:
        now = int(time.time())
        Link.objects.filter(role=Role.MESH, url=url_of(name)).update(last_contact=now)
        if propagation_node:
            if now - self.pn_synced_at > 5:
                self.pn_synced_at = now
                assert self.transport is not None
                self.transport.sync_from_propagation_node()
            return
        # Heard again: whatever waits for it goes now, not at the end of its backoff.
        MeshPost.objects.filter(destination=name, state=JobState.PENDING).update(next_attempt=0)

    # -- inbound ------------------------------------------------------------------
    def _receive(self, sender: str, payload: bytes | None, error: str) -> None:
        link = Link.objects.filter(role=Role.MESH, url=url_of(sender))
        now = int(time.time())
        try:
            if payload is None:
                raise InvalidEvent(error)
            event = codec.decode(payload, self.limits)
            collective = self.destinations.get(sender, False)
            reason = self.refusal(event, collective) if self.refusal else None
            if reason:
                raise InvalidEvent(f"refused by the write policy: {reason}")
            self.received[event.id] = None
            while len(self.received) > REMEMBER_RECEIVED:
                self.received.popitem(last=False)
            (outcome,) = ingest([event], visibility=self.visibility)
            if not outcome.ok:
                raise InvalidEvent(outcome.message)
        except MingaError as exc:
            log.warning("mesh: message from %s refused: %s", sender[:12] or "?", exc.message)
            link.update(last_error=f"refused: {exc.message}"[:2000], last_error_at=now)
            return
        changes: dict[str, Any] = {"last_contact": now, "bytes_in": F("bytes_in") + len(payload)}
        if outcome.stored:
            changes["events_in"] = F("events_in") + 1
            log.info("mesh: stored %s from %s", event.id[:12], sender[:12])
        link.update(**changes)
