"""nostr-sdk, a client nobody here wrote, against a running minga node."""

from __future__ import annotations

import json
import subprocess
import sys

from minga.keys.nip19 import nsec_encode
from minga.store.query import get
from tests.sdk import CLIENT_SCRIPT, run_client


def test_nostr_sdk_publishes_authenticates_queries_subscribes_and_moves_blobs(node, newsroom):
    reporter = newsroom.member("reporter")
    seen = run_client(node, reporter)
    assert seen["note_sent"] == [node.relay_url]
    assert seen["note_failed"] == {}
    assert get(seen["note_id"]) is not None
    assert seen["note_id"] in seen["fetched_notes"]
    assert seen["fetched_notes_verify"] is True
    assert seen["fetched_by_tag"] == [seen["note_id"]]
    # Private kinds: nostr-sdk answered the NIP-42 challenge by itself.
    assert seen["draft_sent"] == [node.relay_url]
    assert seen["fetched_drafts"] == [seen["draft_id"]]
    assert seen["live_received"] is True
    assert seen["upload_status"] == 201
    assert seen["upload_descriptor"]["size"] == 200_000 + len(b"foto de la marcha")
    assert seen["download_ok"] is True
    assert seen["download_type"] == "image/jpeg"
    assert seen["range_status"] == 206
    assert seen["range_ok"] is True


def test_nostr_sdk_off_the_roster_is_refused(node, newsroom, make_key):
    stranger = make_key()
    done = subprocess.run(
        [
            sys.executable,
            str(CLIENT_SCRIPT),
            node.relay_url,
            nsec_encode(stranger.hex()),
            node.base_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["note_sent"] == []
    assert list(seen["note_failed"].values()) == ["blocked: this key is not on the outlet's roster"]
    assert seen["fetched_drafts"] == []  # authenticated, but not a member
    assert seen["upload_status"] == 403
    assert get(seen["note_id"]) is None
