"""A Nostr client written with nostr-sdk (rust-nostr), run against a minga node.

Run as its own process by the tests (``python nostr_sdk_client.py URL NSEC``):
it prints one JSON object with what it saw. Kept out of the pytest process
because the binding can crash the interpreter when it is torn down with Rust
futures pending; the test judges this script's output, not its survival.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import json
import os
import sys
import time

import httpx
import nostr_sdk as n

TIMEOUT = datetime.timedelta(seconds=10)


def blossom_auth(keys: n.Keys, verb: str, sha256: str | None) -> str:
    tags = [["t", verb], ["expiration", str(int(time.time()) + 300)]]
    if sha256:
        tags.append(["x", sha256])
    event = (
        n.EventBuilder(n.Kind(24242), f"{verb} blob")
        .tags([n.Tag.parse(t) for t in tags])
        .finalize(keys)
    )
    token = base64.urlsafe_b64encode(event.as_json().encode()).rstrip(b"=").decode()
    return f"Nostr {token}"


async def wait_for_event(notifications: n.ClientNotificationStream, event_id: str) -> bool:
    while True:
        note = await notifications.next()
        if note is None:
            return False
        if note.is_new_event() and note.event.id().to_hex() == event_id:
            return True
        if note.is_message():
            message = json.loads(note.message.as_json())
            if message[0] == "EVENT" and message[2]["id"] == event_id:
                return True


async def send(client: n.Client, event: n.Event) -> tuple[list[str], dict[str, str]]:
    """(relays that took it, relay -> refusal); nostr-sdk raises when none took it."""
    try:
        sent = await client.send_event(event)
    except n.NostrSdkError as exc:
        return [], {"error": str(exc)}
    return [str(u) for u in sent.success], {str(k): v for k, v in sent.failed.items()}


async def main(relay_url: str, nsec: str, base_url: str) -> dict:
    n.uniffi_set_event_loop(asyncio.get_running_loop())
    keys = n.Keys.parse(nsec)
    client = n.ClientBuilder().authenticator(n.SignerAuthenticator(keys)).build()
    url = n.RelayUrl.parse(relay_url)
    await client.add_relay(url)
    await client.connect()
    out: dict = {"pubkey": keys.public_key().to_hex()}

    note = (
        n.EventBuilder(n.Kind(1), "nota desde nostr-sdk")
        .tags([n.Tag.parse(["t", "interop"])])
        .finalize(keys)
    )
    out["note_id"] = note.id().to_hex()
    out["note_sent"], out["note_failed"] = await send(client, note)

    draft = (
        n.EventBuilder(n.Kind(30024), "borrador privado")
        .tags([n.Tag.parse(["d", "interop"])])
        .finalize(keys)
    )
    out["draft_id"] = draft.id().to_hex()
    out["draft_sent"], _ = await send(client, draft)

    notes = await client.fetch_events(
        n.ReqTarget.auto([n.Filter().author(keys.public_key()).kind(n.Kind(1))]), TIMEOUT
    )
    out["fetched_notes"] = [e.id().to_hex() for e in notes]
    out["fetched_notes_verify"] = all(e.verify() for e in notes)
    by_tag = await client.fetch_events(n.ReqTarget.auto([n.Filter().hashtag("interop")]), TIMEOUT)
    out["fetched_by_tag"] = [e.id().to_hex() for e in by_tag]
    drafts = await client.fetch_events(n.ReqTarget.auto([n.Filter().kind(n.Kind(30024))]), TIMEOUT)
    out["fetched_drafts"] = [e.id().to_hex() for e in drafts]

    notifications = client.notifications()
    await client.subscribe(n.ReqTarget.auto([n.Filter().kind(n.Kind(1)).since(n.Timestamp.now())]))
    live = n.EventBuilder(n.Kind(1), "en vivo").finalize(keys)
    out["live_id"] = live.id().to_hex()
    live_sent, _ = await send(client, live)
    out["live_received"] = bool(live_sent) and await asyncio.wait_for(
        wait_for_event(notifications, out["live_id"]), 15
    )

    blob = os.urandom(200_000) + b"foto de la marcha"
    sha = hashlib.sha256(blob).hexdigest()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        put = await http.put(
            "/upload",
            content=blob,
            headers={
                "Authorization": blossom_auth(keys, "upload", sha),
                "Content-Type": "image/jpeg",
                "X-SHA-256": sha,
            },
        )
        out["upload_status"] = put.status_code
        out["upload_descriptor"] = (
            put.json() if put.status_code < 300 else put.headers.get("x-reason")
        )
        got = await http.get(f"/{sha}.jpg")
        out["download_ok"] = (
            got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha
        )
        out["download_type"] = got.headers.get("content-type")
        part = await http.get(f"/{sha}", headers={"Range": "bytes=100-199"})
        out["range_status"] = part.status_code
        out["range_ok"] = part.content == blob[100:200]
    await client.disconnect()
    return out


if __name__ == "__main__":
    result = asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip the binding's teardown (see the module docstring)
