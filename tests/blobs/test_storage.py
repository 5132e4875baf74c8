from __future__ import annotations

import hashlib

import pytest

from minga.blobs.storage import BlobStore
from minga.exceptions import Conflict, InvalidBlob, TooLarge


def test_commit_places_the_blob_under_its_hash(tmp_path):
    store = BlobStore(tmp_path)
    writer = store.writer(100)
    writer.write(b"hola ")
    writer.write(b"mundo")
    sha, new = writer.commit()
    assert sha == hashlib.sha256(b"hola mundo").hexdigest()
    assert new
    assert store.path(sha).read_bytes() == b"hola mundo"
    assert store.path(sha).parent.parent.name == sha[:2]
    assert store.verify(sha)
    assert store.put(b"hola mundo") == (sha, False)
    assert list(store.tmp.iterdir()) == []


def test_refusals_leave_nothing_behind(tmp_path):
    store = BlobStore(tmp_path)
    writer = store.writer(4)
    with pytest.raises(TooLarge):
        writer.write(b"12345")
    mismatch = store.writer(100, expected="00" * 32)
    mismatch.write(b"x")
    with pytest.raises(Conflict):
        mismatch.commit()
    assert list(store.tmp.iterdir()) == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_names_must_be_hashes(tmp_path):
    store = BlobStore(tmp_path)
    for name in ["../../etc/passwd", "AB" * 32, "ab" * 31, ""]:
        with pytest.raises(InvalidBlob):
            store.path(name)


def test_partial_uploads_of_a_crash_are_cleaned(tmp_path):
    store = BlobStore(tmp_path)
    writer = store.writer(100)
    writer.write(b"a medias")
    writer._file.close()  # the process dies here: its file stays until the next start
    assert store.clean_tmp() == 1
    assert list(store.tmp.iterdir()) == []


def test_altered_blob_fails_verification(tmp_path):
    store = BlobStore(tmp_path)
    sha, _ = store.put(b"original")
    store.path(sha).write_bytes(b"alterado")
    assert not store.verify(sha)
