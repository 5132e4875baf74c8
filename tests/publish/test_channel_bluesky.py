"""Bluesky channel against a real PDS (``@atproto/pds`` with a local PLC
directory, where installed) and against a stand-in for the failures a real
one cannot be made to show (checked with the ``atproto`` client library)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
import regex
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from minga.exceptions import PublishError, RetryLater
from minga.publish.channels import bluesky
from minga.publish.channels.bluesky import Bluesky, tid
from minga.publish.channels.http import Http
from tests.fixtures import free_port, wait_http
from tests.publish.standins.bluesky import TID
from tests.publish.standins.bluesky import Bluesky as BlueskyServer
from tests.publish.standins.posts import dispatch, picture

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "app-pass-1"


@pytest.fixture(autouse=True)
def _no_cached_sessions():
    bluesky._sessions.clear()
    yield
    bluesky._sessions.clear()


@pytest.fixture
def server():
    with BlueskyServer("prueba.test", PASSWORD).running() as running:
        yield running


@pytest.fixture
def channel(server):
    return Bluesky(server.url, "prueba.test", PASSWORD)


def facet_texts(record: dict) -> list[tuple[str, str]]:
    raw = record["text"].encode()
    found = []
    for facet in record["facets"]:
        piece = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        found.append((facet["features"][0]["$type"].split("#")[1], piece))
    return found


def test_tids_are_valid_and_stable():
    keys = {tid("item", str(n)) for n in range(500)}
    assert len(keys) == 500
    assert all(TID.match(k) for k in keys)
    assert tid("a", "b") == tid("a", "b")


def test_post_has_the_largest_photo_that_fits_alt_facets_and_language(server, channel, tmp_path):
    photo = picture(tmp_path, big=True)
    assert photo.size > 1_000_000
    post = dispatch(tmp_path, attachments=(photo,), title="Paro en Puno: día 1 ✊🏽")
    remote = channel.post(post)
    [record] = server.live()
    assert (
        remote.id
        == f"at://{server.handle and 'did:plc:prueba2345abcdefghijklmn'}/app.bsky.feed.post/{record.rkey}"
    )
    assert record.rkey == tid(post.key, "post")
    assert remote.url == f"https://bsky.app/profile/prueba.test/post/{record.rkey}"
    value = record.value
    assert value["langs"] == ["es"]
    assert value["text"].startswith("Paro en Puno: día 1 ✊🏽\n\n")
    assert facet_texts(value) == [
        ("link", post.url),
        ("tag", "#paronacional"),
        ("tag", "#Transporte"),
    ]
    [image] = value["embed"]["images"]
    assert image["alt"] == "Marcha en la plaza San Martín"
    assert image["aspectRatio"] == {"width": 1400, "height": 1000}
    sent = server.blobs[image["image"]["ref"]["$link"]]
    largest_fitting = max((v for v in photo.variants if v.size <= 1_000_000), key=lambda v: v.size)
    assert sent == largest_fitting.path.read_bytes()


def test_without_photo_a_link_card(server, channel, tmp_path):
    post = dispatch(tmp_path, attachments=())
    channel.post(post)
    [record] = server.live()
    assert record.value["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {"uri": post.url, "title": post.title, "description": post.summary},
    }


def test_long_text_fits_300_graphemes(server, channel, tmp_path):
    text = "Marcha ✊🏽 en Juliaca, " * 60
    channel.post(dispatch(tmp_path, summary=text, attachments=()))
    [record] = server.live()
    assert 200 < len(regex.findall(r"\X", record.value["text"])) <= 300
    assert ("link", dispatch(tmp_path).url) in facet_texts(record.value)


def test_lost_answer_then_retry_finds_the_post(server, channel, tmp_path):
    post = dispatch(tmp_path)
    server.drop("com.atproto.repo.createRecord")
    remote = channel.post(post)  # the answer is lost: the channel looks, and finds it
    [record] = server.live()
    assert remote.id.endswith(record.rkey)
    assert channel.post(post) == remote
    assert len(server.calls("createRecord")) == 1


def test_retry_after_500_posts_once(server, channel, tmp_path):
    post = dispatch(tmp_path, attachments=())
    server.fail("com.atproto.repo.createRecord", 502, b"Bad Gateway")
    with pytest.raises(RetryLater):
        channel.post(post)
    channel.post(post)
    channel.post(post)
    assert len(server.live()) == 1


def test_expired_access_token_is_refreshed(server, channel, tmp_path):
    channel.post(dispatch(tmp_path, attachments=()))
    server.expire_access()
    channel.post(dispatch(tmp_path, key="otro", attachments=()))
    assert len(server.live()) == 2
    assert len(server.calls("refreshSession")) == 1
    assert len(server.calls("createSession")) == 1
    server.expire_access()
    server.expired |= server.refresh  # the refresh token too: log in again
    channel.post(dispatch(tmp_path, key="tercero", attachments=()))
    assert len(server.live()) == 3
    assert len(server.calls("createSession")) == 2


def test_wrong_password_is_a_clear_refusal(server, tmp_path):
    with pytest.raises(PublishError, match="bluesky_password") as caught:
        Bluesky(server.url, "prueba.test", "wrong").post(dispatch(tmp_path))
    assert not isinstance(caught.value, RetryLater)


def test_correction_is_a_reply_once(server, channel, tmp_path):
    remote = channel.post(dispatch(tmp_path, attachments=()))
    fixed = dispatch(tmp_path, attachments=(), correction="Eran tres mil, no dos mil.")
    reply = channel.correct(fixed, remote)
    assert channel.correct(fixed, remote) == reply
    original, answer = server.live()
    parent = {"uri": remote.id, "cid": original.cid}
    assert answer.value["reply"] == {"root": parent, "parent": parent}
    assert "Eran tres mil, no dos mil." in answer.value["text"]
    assert ("link", fixed.url) in facet_texts(answer.value)


def test_retraction_deletes_and_posts_a_note_once(server, channel, tmp_path):
    remote = channel.post(dispatch(tmp_path))
    retracted = dispatch(
        tmp_path, title="", summary="", text="", attachments=(), retraction="No se confirmó."
    )
    server.fail("com.atproto.repo.createRecord", 503, b"")
    with pytest.raises(RetryLater):
        channel.retract(retracted, remote)
    channel.retract(retracted, remote)
    channel.retract(retracted, remote)
    [note] = server.live()
    assert "No se confirmó." in note.value["text"]
    assert "#7" in note.value["text"]
    assert server.records[remote.id.rsplit("/", 1)[1]].deleted


answers = st.one_of(
    st.binary(max_size=100),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "did",
                        "handle",
                        "accessJwt",
                        "refreshJwt",
                        "uri",
                        "cid",
                        "blob",
                        "ref",
                        "error",
                        "message",
                    ]
                ),
                inner,
                max_size=5,
            )
        ),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
)


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=answers, status=st.sampled_from([200, 400, 401]))
def test_any_answer_gives_a_remote_or_a_publish_error(tmp_path, body, status):
    bluesky._sessions.clear()
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    channel = Bluesky("https://pds.example", "prueba.test", PASSWORD, Http("bluesky", transport))
    try:
        channel.post(dispatch(tmp_path, attachments=()))
    except PublishError:
        return


# -- the stand-in speaks what the atproto library speaks -----------------------


# atproto 0.0.x uploads blobs with httpx's deprecated data=<bytes>: its warning, not ours
@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
def test_atproto_library_drives_the_standin(server, tmp_path):
    from atproto import Client, models

    client = Client(base_url=f"{server.url}/xrpc")
    profile = client.login("prueba.test", PASSWORD)
    assert profile.handle == "prueba.test"
    photo = picture(tmp_path).path.read_bytes()
    sent = client.send_image("Hola ✊🏽", photo, "alt de prueba", langs=["es"])
    [record] = server.live()
    assert sent.uri.endswith(record.rkey)
    assert record.value["embed"]["images"][0]["alt"] == "alt de prueba"
    got = client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(
            repo=client.me.did, collection="app.bsky.feed.post", rkey=record.rkey
        )
    )
    assert got.cid == record.cid
    assert client.delete_post(sent.uri)
    assert server.live() == []


# -- a real PDS ---------------------------------------------------------------


def _pds_modules() -> Path | None:
    for folder in (
        os.environ.get("MINGA_TEST_PDS_MODULES"),
        str(REPO / "tests" / "publish" / "pds" / "node_modules"),
    ):
        if folder and all(
            (Path(folder) / p / "package.json").exists()
            for p in ("@atproto/pds", "@did-plc/server")
        ):
            return Path(folder)
    return None


@pytest.fixture(scope="module")
def pds(tmp_path_factory):
    modules = _pds_modules()
    if modules is None:
        pytest.fail(
            "a real PDS is needed: `make test` installs it in tests/publish/pds"
            " (npm ci there, with npm_config_nodedir=/usr)"
        )
    plc_port, pds_port = free_port(), free_port()
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "PLC_PORT": str(plc_port),
        "PDS_PORT": str(pds_port),
        "PDS_DIR": str(tmp_path_factory.mktemp("pds")),
        "LOG_ENABLED": "false",
    }
    process = subprocess.Popen(
        ["node", str(Path(__file__).parent / "standins" / "pds.js")],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert '"ready":true' in line, f"the PDS did not start: {line!r}"
        url = f"http://127.0.0.1:{pds_port}"
        wait_http(f"{url}/xrpc/_health")
        yield url
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _account(pds: str) -> tuple[str, str]:
    handle = f"u{uuid.uuid4().hex[:10]}.test"
    reply = httpx.post(
        f"{pds}/xrpc/com.atproto.server.createAccount",
        json={"handle": handle, "email": f"{handle}@example.com", "password": PASSWORD},
        timeout=30,
    )
    reply.raise_for_status()
    return handle, reply.json()["did"]


def _record(pds: str, uri: str) -> httpx.Response:
    did, _, rkey = uri.removeprefix("at://").partition("/app.bsky.feed.post/")
    return httpx.get(
        f"{pds}/xrpc/com.atproto.repo.getRecord",
        params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey},
        timeout=30,
    )


def _count(pds: str, did: str) -> int:
    reply = httpx.get(
        f"{pds}/xrpc/com.atproto.repo.listRecords",
        params={"repo": did, "collection": "app.bsky.feed.post", "limit": "100"},
        timeout=30,
    )
    reply.raise_for_status()
    return len(reply.json()["records"])


def test_real_pds_post_correction_retraction(pds, tmp_path):
    handle, did = _account(pds)
    channel = Bluesky(pds, handle, PASSWORD)
    photo = picture(tmp_path, big=True)
    post = dispatch(tmp_path, attachments=(photo,), summary="Marcha ✊🏽 en Juliaca, " * 40)
    remote = channel.post(post)
    assert channel.post(post) == remote  # a retry finds it: no second post
    assert _count(pds, did) == 1
    stored = _record(pds, remote.id).json()["value"]
    assert stored["embed"]["images"][0]["alt"] == "Marcha en la plaza San Martín"
    assert stored["embed"]["images"][0]["image"]["size"] <= 1_000_000
    assert ("link", post.url) in facet_texts(stored)

    fixed = dispatch(tmp_path, attachments=(photo,), correction="Eran tres mil, no dos mil.")
    reply = channel.correct(fixed, remote)
    assert channel.correct(fixed, remote) == reply
    answer = _record(pds, reply.id).json()["value"]
    assert answer["reply"]["parent"]["uri"] == remote.id

    retracted = dispatch(
        tmp_path, title="", summary="", text="", attachments=(), retraction="No se confirmó."
    )
    channel.retract(retracted, remote)
    channel.retract(retracted, remote)
    gone = _record(pds, remote.id)
    assert gone.status_code == 400
    assert gone.json()["error"] == "RecordNotFound"
    assert _count(pds, did) == 2  # the correction reply and the retraction note


def test_real_pds_refuses_a_wrong_password(pds, tmp_path):
    handle, _did = _account(pds)
    with pytest.raises(PublishError, match="bluesky_password"):
        Bluesky(pds, handle, "wrong-password").post(dispatch(tmp_path))
