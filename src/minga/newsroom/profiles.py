"""Public bylines: the kind 0 profile (NIP-01 metadata) of a key the node keeps.

The site, feeds and syndication name authors from their kind 0 only (any node
holding the events can), so a custodial member gets one signed with the name
the admin gave them: write a pseudonym there when the person needs one. People
with their own signer publish their own profile from any Nostr client. The
outlet's profile names the outlet.
"""

from __future__ import annotations

import json

from minga.events.event import Event
from minga.events.kinds import METADATA
from minga.events.signing import SecretKey, sign_event
from minga.exceptions import StoreError
from minga.store.ingest import ingest


def publish(key: SecretKey, name: str, about: str = "") -> Event:
    """Sign and store a kind 0 profile for ``key``."""
    profile = {"name": name, "display_name": name}
    if about:
        profile["about"] = about
    event = sign_event(key, METADATA, json.dumps(profile, ensure_ascii=False, sort_keys=True))
    outcome = ingest([event])[0]
    if not outcome.ok:
        raise StoreError(f"the profile was refused: {outcome.message}")
    return event
