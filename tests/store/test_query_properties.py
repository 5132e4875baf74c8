"""The SQL the store runs and the Python matcher the relay uses for live
subscriptions give the same answers, for any events and any filter."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minga.events import Filter, SecretKey, newer, sign_event
from minga.store.ingest import ingest
from minga.store.models import StoredEvent
from minga.store.query import query

KEYS = [SecretKey.generate() for _ in range(3)]
KINDS = [0, 1, 7, 30023]
VALUES = ["a", "b", "c"]

events_strategy = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(KINDS),
        st.integers(0, 5),
        st.lists(st.tuples(st.sampled_from(["t", "d", "x"]), st.sampled_from(VALUES)), max_size=3),
        st.integers(0, 3),
    ),
    max_size=25,
)


def opt(strategy):
    return st.none() | strategy


filters_strategy = st.builds(
    Filter,
    ids=st.none(),
    authors=opt(st.frozensets(st.sampled_from([k.pubkey for k in KEYS]), max_size=2)),
    kinds=opt(st.frozensets(st.sampled_from(KINDS), max_size=2)),
    tags=st.dictionaries(
        st.sampled_from(["t", "d", "x"]),
        st.frozensets(st.sampled_from(VALUES), min_size=1, max_size=2),
        max_size=2,
    ),
    since=opt(st.integers(0, 5)),
    until=opt(st.integers(0, 5)),
    limit=opt(st.integers(0, 30)),
)


def visible(events):
    """NIP-01's view: every regular event, the newest version of each address."""
    heads = {}
    out = []
    for e in events:
        if e.address is None:
            out.append(e)
        elif e.address not in heads or newer(e, heads[e.address]):
            heads[e.address] = e
    return out + list(heads.values())


@pytest.mark.django_db
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events_strategy, filters_strategy)
def test_store_query_equals_python_matching(specs, f):
    StoredEvent.objects.all().delete()
    events = {}
    for author, kind, created, tags, salt in specs:
        e = sign_event(KEYS[author], kind, f"c{salt}", [list(t) for t in tags], created)
        events[e.id] = e
    ingest(list(events.values()))
    expected = sorted(
        (e for e in visible(events.values()) if f.matches(e)), key=lambda e: (-e.created_at, e.id)
    )
    limit = 500 if f.limit is None else f.limit
    got = [r.id for r in query([f], default_limit=500, private=True)]
    assert got == [e.id for e in expected[:limit]]
