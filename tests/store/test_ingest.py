"""The store keeps every version and every deletion request, and answers with
what NIP-01 and NIP-09 say readers should see."""

from __future__ import annotations

import itertools
import time

import pytest

from minga.events import Filter, SecretKey, parse_filter, sign_event
from minga.events.kinds import DELETION
from minga.store.ingest import Pipeline, ingest
from minga.store.models import StoredEvent, Tag
from minga.store.query import count, get, latest, query, versions

pytestmark = pytest.mark.django_db

A = SecretKey.generate()
B = SecretKey.generate()


def ids(rows):
    return [r.id for r in rows]


def test_new_and_duplicate_outcomes_in_order():
    one = sign_event(A, 1, "uno", [["t", "x"]])
    two = sign_event(A, 1, "dos")
    first = ingest([one, two, one])
    assert [(o.ok, o.stored, o.duplicate) for o in first] == [
        (True, True, False),
        (True, True, False),
        (True, False, True),
    ]
    again = ingest([two])
    assert again[0].ok
    assert again[0].duplicate
    assert again[0].message == "duplicate: already have this event"
    assert count() == 2
    assert Tag.objects.filter(event__event_id=one.id, name="t", value="x").count() == 1


def test_bad_signature_is_refused_and_nothing_stored():
    good = sign_event(A, 1, "bien")
    forged = sign_event(A, 1, "forjado")
    from minga.events import Event

    forged = Event(forged.id, forged.pubkey, forged.created_at, 1, [], "forjado", good.sig)
    outcomes = ingest([good, forged])
    assert outcomes[0].ok
    assert not outcomes[1].ok
    assert outcomes[1].message.startswith("invalid:")
    assert count() == 1


def test_ephemeral_events_are_accepted_but_not_stored():
    outcome = ingest([sign_event(A, 20001, "efímero")])[0]
    assert outcome.ok
    assert not outcome.stored
    assert count() == 0


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_version_is_kept_and_the_latest_answers(order):
    versions_made = [
        sign_event(A, 30023, f"versión {n}", [["d", "despacho"]], created_at=1000 + n)
        for n in range(3)
    ]
    for index in order:
        ingest([versions_made[index]])
    address = f"30023:{A.pubkey}:despacho"
    assert [e.id for e in versions(address)] == [e.id for e in reversed(versions_made)]
    assert latest(address).id == versions_made[2].id
    rows = query([Filter(authors=frozenset([A.pubkey]), kinds=frozenset([30023]))], private=True)
    assert ids(rows) == [versions_made[2].id]
    # An old version is still reachable by its id, and in the history scope.
    assert get(versions_made[0].id).content == "versión 0"
    history = query([Filter(kinds=frozenset([30023]))], history=True, private=True)
    assert len(history) == 3


def test_same_second_versions_keep_the_lowest_id():
    a = sign_event(A, 0, '{"name":"a"}', created_at=500)
    b = sign_event(A, 0, '{"name":"b"}', created_at=500)
    winner = min(a, b, key=lambda e: e.id)
    ingest([a, b])
    assert ids(query([Filter(kinds=frozenset([0]))])) == [winner.id]
    assert StoredEvent.objects.filter(kind=0).count() == 2
    assert StoredEvent.objects.filter(kind=0, current=True).count() == 1


def test_addresses_are_per_author_kind_and_d():
    events = [
        sign_event(A, 30023, "a1", [["d", "uno"]], 10),
        sign_event(A, 30023, "a2", [["d", "dos"]], 11),
        sign_event(B, 30023, "b1", [["d", "uno"]], 12),
        sign_event(A, 30024, "borrador", [["d", "uno"]], 13),
    ]
    ingest(events)
    assert len(query([Filter(kinds=frozenset([30023, 30024]))], private=True)) == 4


def test_deletion_request_hides_the_authors_events_and_keeps_the_record():
    note = sign_event(A, 1, "se retracta")
    other = sign_event(B, 1, "de otra persona")
    request = sign_event(A, DELETION, "error", [["e", note.id], ["e", other.id], ["k", "1"]])
    ingest([note, other])
    ingest([request])
    assert get(note.id) is None
    assert get(other.id) is not None  # nobody deletes another's event
    assert StoredEvent.objects.filter(event_id=note.id, deleted=True).exists()
    # The request itself is kept and served.
    assert ids(query([parse_filter({"kinds": [5]})])) == [request.id]


def test_deletion_request_arriving_first_still_applies():
    note = sign_event(A, 1, "llega tarde")
    request = sign_event(A, DELETION, "", [["e", note.id]])
    ingest([request])
    ingest([note])
    assert get(note.id) is None
    assert StoredEvent.objects.filter(event_id=note.id).exists()


def test_deletion_in_the_same_batch():
    note = sign_event(A, 1, "mismo lote")
    request = sign_event(A, DELETION, "", [["e", note.id]])
    ingest([request, note])
    assert get(note.id) is None


def test_address_deletion_covers_versions_up_to_its_time_only():
    old = sign_event(A, 30023, "v1", [["d", "x"]], created_at=100)
    request = sign_event(A, DELETION, "", [["a", f"30023:{A.pubkey}:x"]], created_at=150)
    late_old = sign_event(A, 30023, "v0", [["d", "x"]], created_at=90)
    newer = sign_event(A, 30023, "v2", [["d", "x"]], created_at=200)
    ingest([old])
    ingest([request])
    assert latest(f"30023:{A.pubkey}:x") is None
    ingest([late_old])
    assert get(late_old.id) is None
    ingest([newer])
    assert latest(f"30023:{A.pubkey}:x").id == newer.id


def test_address_deletion_by_someone_else_does_nothing():
    event = sign_event(A, 30023, "v1", [["d", "x"]])
    ingest([event, sign_event(B, DELETION, "", [["a", f"30023:{A.pubkey}:x"]])])
    assert latest(f"30023:{A.pubkey}:x").id == event.id


def test_deleting_a_deletion_request_has_no_effect():
    note = sign_event(A, 1, "x")
    first = sign_event(A, DELETION, "", [["e", note.id]])
    second = sign_event(A, DELETION, "", [["e", first.id]])
    ingest([note, first, second])
    assert get(first.id) is not None
    assert get(note.id) is None


def test_private_events_need_the_private_scope():
    draft = sign_event(A, 30024, "borrador", [["d", "b"]])
    roster = sign_event(A, 30000, "", [["d", "minga-roster"]])
    follow_set = sign_event(A, 30000, "", [["d", "amigos"]])
    public = sign_event(A, 1, "público")
    ingest([draft, roster, follow_set, public])
    assert set(ids(query([Filter()]))) == {public.id, follow_set.id}
    assert set(ids(query([Filter()], private=True))) == {
        public.id,
        follow_set.id,
        draft.id,
        roster.id,
    }


def test_expired_events_are_not_served():
    now = int(time.time())
    gone = sign_event(A, 1, "caduca", [["expiration", str(now - 1)]])
    stays = sign_event(A, 1, "sigue", [["expiration", str(now + 3600)]])
    ingest([gone, stays])
    assert ids(query([Filter()])) == [stays.id]


def test_limits_and_order_follow_nip01():
    events = [sign_event(A, 1, str(n), created_at=1000 + n // 2) for n in range(10)]
    ingest(events)
    expected = sorted(events, key=lambda e: (-e.created_at, e.id))
    assert ids(query([Filter(limit=4)])) == [e.id for e in expected[:4]]
    assert ids(query([Filter(limit=0)])) == []
    assert len(query([Filter()], default_limit=3)) == 3


def test_several_filters_are_or_and_each_has_its_limit():
    notes = [sign_event(A, 1, str(n), created_at=n) for n in range(5)]
    articles = [sign_event(B, 30023, str(n), [["d", str(n)]], created_at=n) for n in range(5)]
    ingest(notes + articles)
    rows = query(
        [parse_filter({"kinds": [1], "limit": 2}), parse_filter({"kinds": [30023], "limit": 1})],
        private=True,
    )
    assert len(rows) == 3


def test_pipeline_keeps_outcome_order_across_batches():
    events = [sign_event(A, 1, str(n)) for n in range(25)]
    events.insert(7, events[3])  # a duplicate in a later position
    pipeline = Pipeline(batch_size=4)
    outcomes = []
    for event in events:
        outcomes += pipeline.add(event)
    outcomes += pipeline.flush()
    assert [o.event_id for o in outcomes] == [e.id for e in events]
    assert outcomes[7].duplicate
    assert count() == 25


def test_large_batch_is_verified_by_worker_processes():
    events = [sign_event(A, 1, str(n)) for n in range(400)]
    from minga.events import Event

    bad = events[200]
    events[200] = Event(bad.id, bad.pubkey, bad.created_at, 1, [], bad.content, events[0].sig)
    outcomes = ingest(events, batch_size=400)
    assert [o.ok for o in outcomes].count(False) == 1
    assert not outcomes[200].ok
    assert count() == 399


def test_dispatches_and_media_records_wait_for_release():
    from minga.store.release import release, withdraw

    first = sign_event(A, 30023, "v1", [["d", "x"]], created_at=100)
    media = sign_event(A, 1063, "foto", [["x", "ab" * 32]])
    note = sign_event(A, 1, "nota pública")
    ingest([first, media, note])
    public = {r.id for r in query([Filter()])}
    assert public == {note.id}  # filed, not yet published
    assert {r.id for r in query([Filter()], private=True)} == {first.id, media.id, note.id}
    address = f"30023:{A.pubkey}:x"
    release([address, media.id])
    assert {r.id for r in query([Filter()])} == {first.id, media.id, note.id}
    # A correction (a later version) of a released address is public at once.
    correction = sign_event(A, 30023, "v2 corregida", [["d", "x"]], created_at=200)
    ingest([correction])
    assert latest(address).id == correction.id
    assert correction.id in {r.id for r in query([Filter()])}
    withdraw([address])
    assert {r.id for r in query([Filter()])} == {media.id, note.id}
    # Withdrawing never touches events that are private by kind.
    draft = sign_event(A, 30024, "borrador", [["d", "x"]])
    ingest([draft])
    release([f"30024:{A.pubkey}:x"])
    assert draft.id not in {r.id for r in query([Filter()])}
