"""The bundle reader against any bytes: InvalidBundle or a whole part, nothing else.

Random files, and valid parts with bytes flipped, cut, inserted or removed,
go through the full import into the test store: each is refused with
InvalidBundle (every byte of a part is under a checksum) and nothing changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from minga.events import sign_event
from minga.exceptions import InvalidBundle
from minga.sync.bundle import format as fmt
from minga.sync.bundle.importer import Importer
from minga.sync.bundle.reader import PartReader
from tests.sync.bundles import media_event, sha256, snapshot, write_bundle

pytestmark = pytest.mark.django_db(transaction=True)
SETTINGS = hsettings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def valid(newsroom, tmp_path) -> bytes:
    reporter = newsroom.member()
    data = os.urandom(3000)
    photo = media_event(reporter, sha256(data), len(data))
    events = [sign_event(reporter, 1, f"nota {n}") for n in range(5)] + [photo]
    (path,) = write_bundle(tmp_path / "v.minga", events, {sha256(data): (data, photo.id)})
    return path.read_bytes()


def read_all(path: Path) -> None:
    for _record in PartReader(path).records():
        pass


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_crash_the_reader(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("r") / "x.minga"
    path.write_bytes(data)
    with pytest.raises(InvalidBundle):
        read_all(path)


@SETTINGS
@given(body=st.binary(max_size=2048))
def test_a_valid_header_then_random_records(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("h") / "x.minga"
    path.write_bytes(fmt.pack_header(os.urandom(16), 1, 1, 0) + body)
    with pytest.raises(InvalidBundle):
        read_all(path)


mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
)


def mutate(data: bytes, how: str, at: int, value: int) -> bytes:
    if not data:
        return bytes([value]) if how == "insert" else data
    at %= len(data)
    if how == "flip":
        return data[:at] + bytes([data[at] ^ value]) + data[at + 1 :]
    if how == "cut":
        return data[:at]
    if how == "insert":
        return data[:at] + bytes([value]) + data[at:]
    return data[:at] + data[at + value :]


@SETTINGS
@given(changes=st.lists(mutations, min_size=1, max_size=3))
def test_mutated_parts_are_refused_and_store_nothing(valid, tmp_path_factory, changes):
    data = valid
    for how, at, value in changes:
        data = mutate(data, how, at, value)
    assume(data != valid)  # a flip undone by a second flip is no mutation
    path = tmp_path_factory.mktemp("m") / "x.minga"
    path.write_bytes(data)
    before = snapshot()
    with pytest.raises(InvalidBundle):
        Importer(settings.MINGA).run([path])
    assert snapshot() == before


def test_the_unmutated_part_imports(valid, tmp_path):
    path = tmp_path / "ok.minga"
    path.write_bytes(valid)
    report = Importer(settings.MINGA).run([path])
    assert report.stored == 6
    assert report.blobs_stored == 1
