"""NIP-59 gift wraps with NIP-44 v2: how private events cross public relays.

A wrap (kind 1059) is signed by a one-time key, carries only the recipient's
``p`` tag and a ``created_at`` pushed up to two days into the past; its content
is the NIP-44 encryption of a seal (kind 13, signed by the sender, no tags),
whose content is the NIP-44 encryption of the inner event.

Minga's choice: the inner event is a *signed* event, not NIP-59's unsigned
rumor. Everything minga stores must prove its author to anyone (peers, readers,
the desk), and deniability is not a goal for a newsroom's own coordination.
An unwrapped event is accepted only when its id and signature are valid and
the seal was signed by the inner event's author or by one of the collective's
node keys (a node forwarding a member's private event); an unsigned rumor, as
plain NIP-17 clients send, is refused with :class:`UnsignedRumor`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass

from minga.events.event import Event
from minga.events.kinds import GIFT_WRAP, SEAL
from minga.events.signing import SecretKey, sign_event
from minga.events.validate import DEFAULT_LIMITS, Limits, loads_json, parse_event
from minga.exceptions import InvalidEvent
from minga.keys import nip44

TWO_DAYS = 2 * 24 * 3600


class UnsignedRumor(InvalidEvent):
    """The seal holds an unsigned rumor: its author cannot be proven to others."""


@dataclass(frozen=True)
class Unwrapped:
    event: Event  # the inner, signed event
    sealed_by: str  # the seal's signer: the author or a forwarding node
    recipient: str  # the key the wrap was opened with


def _past(now: int) -> int:
    # NIP-59: timestamps of the outer layers are tweaked, always into the past.
    return now - secrets.randbelow(TWO_DAYS)


def seal(inner: Event, sender: SecretKey, recipient: str, now: int | None = None) -> Event:
    """A kind-13 seal of ``inner`` to ``recipient``, signed by ``sender``."""
    moment = int(time.time()) if now is None else now
    conv = nip44.conversation_key(sender.secret_bytes(), recipient)
    return sign_event(sender, SEAL, nip44.encrypt(inner.to_json(), conv), [], _past(moment))


def wrap(inner: Event, sender: SecretKey, recipient: str, now: int | None = None) -> Event:
    """Seal ``inner`` and wrap it for ``recipient`` with a fresh one-time key."""
    moment = int(time.time()) if now is None else now
    sealed = seal(inner, sender, recipient, moment)
    one_time = SecretKey.generate()
    conv = nip44.conversation_key(one_time.secret_bytes(), recipient)
    content = nip44.encrypt(sealed.to_json(), conv)
    return sign_event(one_time, GIFT_WRAP, content, [["p", recipient]], _past(moment))


def _open(payload: str, key: SecretKey, sender: str, limits: Limits) -> object:
    conv = nip44.conversation_key(key.secret_bytes(), sender)
    return loads_json(nip44.decrypt(payload, conv), limits.max_json_bytes)


def unwrap(
    wrapped: Event,
    key: SecretKey,
    forwarders: Collection[str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> Unwrapped:
    """Open a verified kind-1059 ``wrapped`` with ``key``; return the signed inner event.

    Raises :class:`~minga.exceptions.InvalidEvent` (or :class:`UnsignedRumor`)
    naming what is wrong; nothing is returned half-checked.
    """
    if wrapped.kind != GIFT_WRAP:
        raise InvalidEvent("not a gift wrap (kind 1059)")
    sealed = parse_event(_open(wrapped.content, key, wrapped.pubkey, limits), limits)
    if sealed.kind != SEAL:
        raise InvalidEvent("the gift wrap does not hold a seal (kind 13)")
    if sealed.tags:
        raise InvalidEvent("a seal has no tags")
    inner_obj = _open(sealed.content, key, sealed.pubkey, limits)
    if isinstance(inner_obj, dict) and "sig" not in inner_obj:
        raise UnsignedRumor("the sealed event is an unsigned rumor: minga needs it signed")
    inner = parse_event(inner_obj, limits)
    if inner.kind in (SEAL, GIFT_WRAP):
        raise InvalidEvent("a seal or wrap inside a seal")
    if sealed.pubkey != inner.pubkey and sealed.pubkey not in forwarders:
        raise InvalidEvent("the seal is signed neither by the author nor by a collective node")
    return Unwrapped(inner, sealed.pubkey, key.pubkey)
