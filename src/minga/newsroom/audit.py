"""The audit log: one line per desk or admin action, never edited."""

from __future__ import annotations

from typing import Any

from minga.newsroom.models import AuditEntry


def record(actor: Any, action: str, target: str, **detail: Any) -> AuditEntry:
    person = getattr(actor, "person", None) if actor is not None else None
    entry: AuditEntry = AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_pubkey=getattr(person, "pubkey", "") or "",
        action=action,
        target=target,
        detail=detail,
    )
    return entry
