"""The negentropy codec (NIP-77 appendix): reconciliation finds exactly the
difference of two sets, every message keeps to the frame size limit, and no
input makes the decoder fail with anything but InvalidNegentropy."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minga.exceptions import InvalidInput, InvalidNegentropy
from minga.sync.negentropy import Negentropy
from minga.sync.negentropy.wire import INFINITY, Reader, varint

ROOT = Path(__file__).resolve().parents[2]
JS_CLIENT = Path(__file__).with_name("negentropy_client.mjs")

Item = tuple[int, bytes]


def make_items(rng: random.Random, n: int, *, ties: bool, span: int = 2**40) -> list[Item]:
    """Items with many equal timestamps and shared id prefixes when ``ties``,
    so bounds need id prefixes of every length."""
    items = []
    for _ in range(n):
        ts = rng.randrange(4) if ties else rng.randrange(span)
        prefix = bytes([rng.randrange(2)] * rng.randrange(4)) if ties else b""
        items.append((ts, prefix + rng.randbytes(32 - len(prefix))))
    return items


def sync(
    ours: list[Item], theirs: list[Item], limit: int = 60_000
) -> tuple[set[bytes], set[bytes], int, list[bytes]]:
    """Reconcile ``ours`` (client) with ``theirs`` (server): have, need, rounds, messages."""
    client, server = Negentropy(ours, limit), Negentropy(theirs, limit)
    query: bytes | None = client.initiate()
    have: set[bytes] = set()
    need: set[bytes] = set()
    messages = []
    rounds = 0
    while query is not None:
        messages.append(query)
        answer = server.respond(query)
        messages.append(answer)
        rounds += 1
        assert rounds < 1000
        query, h, n = client.reconcile(answer)
        assert not have & set(h), "an id was reported twice"
        assert not need & set(n), "an id was reported twice"
        have.update(h)
        need.update(n)
    return have, need, rounds, messages


sizes = st.tuples(
    st.integers(0, 400), st.integers(0, 60), st.integers(0, 60), st.integers(0, 2**32)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes, st.booleans(), st.sampled_from([0, 4096, 60_000]))
def test_reconciles_to_the_symmetric_difference(shape, ties, limit) -> None:
    common_n, a_n, b_n, seed = shape
    rng = random.Random(seed)
    common = make_items(rng, common_n, ties=ties)
    a_only = make_items(rng, a_n, ties=ties)
    b_only = make_items(rng, b_n, ties=ties)
    ours = common + a_only
    theirs = common + b_only
    rng.shuffle(ours)
    have, need, _rounds, messages = sync(ours, theirs, limit)
    assert have == {i for _, i in a_only}
    assert need == {i for _, i in b_only}
    if limit:
        assert max(map(len, messages)) <= limit


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 300))
def test_small_frames_split_large_differences(seed, differ) -> None:
    """Thousands of differing ids cannot fit one 4 KB frame: they come in rounds."""
    rng = random.Random(seed)
    common = make_items(rng, 2000, ties=False)
    a_only = make_items(rng, differ * 5, ties=False)
    b_only = make_items(rng, differ * 7, ties=False)
    have, need, rounds, messages = sync(common + a_only, common + b_only, 4096)
    assert have == {i for _, i in a_only}
    assert need == {i for _, i in b_only}
    assert max(map(len, messages)) <= 4096
    if differ > 50:
        assert rounds > 1


def test_equal_sets_agree_in_one_round() -> None:
    items = make_items(random.Random(1), 5000, ties=False)
    have, need, rounds, _ = sync(items, list(reversed(items)))
    assert (have, need, rounds) == (set(), set(), 1)


def test_duplicates_are_one_item() -> None:
    items = make_items(random.Random(2), 50, ties=True)
    have, need, _, _ = sync(items + items, items)
    assert have == need == set()


def test_empty_sides() -> None:
    items = make_items(random.Random(3), 100, ties=False)
    assert sync([], items)[:2] == (set(), {i for _, i in items})
    assert sync(items, [])[:2] == ({i for _, i in items}, set())
    assert sync([], [])[:3] == (set(), set(), 1)


# -- the wire format, by hand -------------------------------------------------------


def test_varint_matches_the_spec() -> None:
    assert varint(0) == b"\x00"
    assert varint(127) == b"\x7f"
    assert varint(128) == b"\x81\x00"
    assert varint(300) == b"\x82\x2c"
    for n in (0, 1, 127, 128, 16383, 16384, 2**35 + 7, INFINITY):
        assert Reader(varint(n)).varint() == n


def test_initial_message_of_a_small_set_is_an_id_list() -> None:
    ids = sorted([bytes([7]) * 32, bytes([3]) * 32])
    message = Negentropy([(10, ids[1]), (10, ids[0])]).initiate()
    # version, bound (infinity: ts 0, no prefix), mode IdList, 2 ids in order
    assert message == b"\x61" + b"\x00\x00" + b"\x02" + b"\x02" + ids[0] + ids[1]


def test_fingerprint_is_sha256_of_the_sum_and_count() -> None:
    items = [(i, hashlib.sha256(i.to_bytes(2, "big")).digest()) for i in range(450)]
    message = Negentropy(items).initiate()
    reader = Reader(message)
    assert reader.byte() == 0x61
    # 450 items: 16 buckets of 29 or 28; the first holds items 0..28
    reader.bound()
    assert reader.varint() == 1
    total = sum(int.from_bytes(i, "little") for _, i in items[:29]) % 2**256
    expected = hashlib.sha256(total.to_bytes(32, "little") + b"\x1d").digest()[:16]
    assert reader.take(16) == expected


def test_server_answers_an_unknown_version_with_its_own() -> None:
    assert Negentropy([]).respond(b"\x62") == b"\x61"
    client = Negentropy([])
    client.initiate()
    with pytest.raises(InvalidNegentropy, match="version 2"):
        client.reconcile(b"\x62")


def test_roles_do_not_mix() -> None:
    engine = Negentropy([])
    with pytest.raises(InvalidNegentropy):
        engine.reconcile(b"\x61")
    engine.initiate()
    with pytest.raises(InvalidNegentropy):
        engine.respond(b"\x61")


@pytest.mark.parametrize(
    "items",
    [[(INFINITY, bytes(32))], [(-1, bytes(32))], [(1, bytes(31))], [(1, "00" * 32)]],
)
def test_bad_items_are_refused(items) -> None:
    with pytest.raises(InvalidNegentropy):
        Negentropy(items)


def test_frame_size_limit_must_leave_room() -> None:
    with pytest.raises(InvalidNegentropy):
        Negentropy([], frame_size_limit=1000)


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x00",
        b"\x61\x00",  # a bound with no mode
        b"\x61\x00\x00\x07",  # unknown mode
        b"\x61\x00\x21" + bytes(33) + b"\x00",  # id prefix longer than 32
        b"\x61\x00\x00\x01" + bytes(15),  # short fingerprint
        b"\x61\x00\x00\x02\x05" + bytes(64),  # id list shorter than its count
        b"\x61\x00\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # count > 64 bits
        b"\x61\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00",  # timestamp past infinity
    ],
)
def test_malformed_messages(message) -> None:
    with pytest.raises(InvalidNegentropy):
        Negentropy([]).respond(message)
    client = Negentropy([])
    client.initiate()
    with pytest.raises(InvalidNegentropy):
        client.reconcile(message)


def test_invalid_negentropy_is_invalid_input() -> None:
    assert issubclass(InvalidNegentropy, InvalidInput)
    assert InvalidNegentropy("x").nostr_reason() == "invalid: x"


# -- the decoder never breaks ----------------------------------------------------------

_SERVER = Negentropy(make_items(random.Random(4), 300, ties=True), 4096)
_VALID = [
    Negentropy(make_items(random.Random(s), s * 20, ties=bool(s % 2))).initiate() for s in range(8)
]


def _decode_both(message: bytes) -> None:
    for role in ("server", "client"):
        try:
            if role == "server":
                _SERVER.respond(message)
            else:
                client = Negentropy(make_items(random.Random(5), 100, ties=True))
                client.initiate()
                client.reconcile(message)
        except InvalidNegentropy:
            pass


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_invalid_negentropy(data) -> None:
    _decode_both(b"\x61" + data)
    _decode_both(data)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, 10_000),
)
def test_mutated_messages_only_raise_invalid_negentropy(message, flips, cut) -> None:
    data = bytearray(message)
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    _decode_both(bytes(data))
    _decode_both(bytes(data[: cut % (len(data) + 1)]))


# -- against nostr-tools (nip77), an implementation nobody here wrote ---------------------


def _js_client() -> subprocess.Popen[str]:
    # make test installs both (npm ci): missing is a broken setup, not a skip.
    assert shutil.which("node") is not None, "node is needed for the nostr-tools interop test"
    assert (ROOT / "node_modules" / "nostr-tools").is_dir(), "run `npm ci` (nostr-tools)"
    return subprocess.Popen(
        ["node", str(JS_CLIENT)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.close()
    proc.wait(timeout=20)
    proc.stdout.close()


def _ask(proc: subprocess.Popen[str], message: dict[str, object]) -> dict[str, object]:
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert line, "the nostr-tools client stopped"
    answer: dict[str, object] = json.loads(line)
    return answer


@pytest.mark.parametrize(("seed", "limit"), [(1, 60_000), (2, 4096), (3, 4096), (4, 60_000)])
def test_nostr_tools_client_reconciles_with_our_server(seed: int, limit: int) -> None:
    # nostr-tools decodes varints with signed 32-bit operations: timestamps below 2**31
    # (true of every created_at until 2038).
    rng = random.Random(seed)
    ties = seed % 2 == 1
    common = make_items(rng, 3000, ties=ties, span=2**31)
    a_only = make_items(rng, 150, ties=ties, span=2**31)
    b_only = make_items(rng, 250, ties=ties, span=2**31)
    ours = common + a_only
    server = Negentropy(common + b_only, limit)
    proc = _js_client()
    try:
        first = _ask(proc, {"items": [[ts, i.hex()] for ts, i in ours], "frame": limit})
        # Same algorithm, same items: the same first message, byte for byte.
        assert first["query"] == Negentropy(ours, limit).initiate().hex()
        query = first["query"]
        have: set[str] = set()
        need: set[str] = set()
        while query is not None:
            assert isinstance(query, str)
            answer = server.respond(bytes.fromhex(query))
            assert len(answer) <= limit
            step = _ask(proc, {"answer": answer.hex()})
            have.update(step["have"])  # type: ignore[arg-type]
            need.update(step["need"])  # type: ignore[arg-type]
            query = step["query"]
    finally:
        _stop(proc)
    assert have == {i.hex() for _, i in a_only}
    assert need == {i.hex() for _, i in b_only}
