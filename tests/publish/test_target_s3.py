"""The S3 target against a real S3 server (moto's, on a loopback port): objects
are read back with boto3 and checked byte for byte, with their headers."""

from __future__ import annotations

import hashlib
import http.client
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from minga import config as minga_config
from minga.events.signing import SecretKey
from minga.exceptions import PublishError, RetryLater
from minga.publish.manifest import MANIFEST_PATH
from minga.publish.targets import Report, target_for
from minga.publish.targets.s3 import S3Target
from minga.publish.targets.sitefiles import IMMUTABLE, SHORT
from tests.fixtures import free_port
from tests.publish.sites import BASE_TIME, build, files_v2

KEY = SecretKey.from_hex("5d" * 32)


class MotoS3:
    """moto's S3 server in this process; its objects outlive a stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server: ThreadedMotoServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server._server.server_close()  # stop() leaves the socket listening
            self.server = None

    @contextmanager
    def client(self) -> Iterator[Any]:
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        try:
            yield client
        finally:
            client.close()


@pytest.fixture
def s3(settings, monkeypatch) -> Iterator[MotoS3]:
    monkeypatch.setenv("MINGA_S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("MINGA_S3_SECRET_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask the network
    server = MotoS3()
    server.start()
    settings.MINGA = minga_config.load({"s3_endpoint": server.url})
    try:
        yield server
    finally:
        if server.server is None:
            server.start()
        reset = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        reset.request("POST", "/moto-api/reset")
        reset.getresponse().read()
        reset.close()
        server.stop()


def new_bucket(s3: MotoS3) -> str:
    name = f"sitio-{uuid.uuid4().hex[:12]}"
    with s3.client() as client:
        client.create_bucket(Bucket=name)
    return name


def objects(s3: MotoS3, bucket: str) -> dict[str, bytes]:
    with s3.client() as client:
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {
            o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed
        }


def expected(site, prefix: str = "") -> dict[str, bytes]:
    files = {**site.files, MANIFEST_PATH: site.manifest_file}
    return {prefix + p.lstrip("/"): b for p, b in files.items()}


def test_first_deploy_uploads_every_file_with_its_headers(s3, tmp_path):
    bucket = new_bucket(s3)
    site = build(tmp_path / "site", KEY)
    report = target_for(f"s3://{bucket}").deploy(site.root, site.manifest, None)
    assert report == Report(
        files_sent=len(site.files), bytes_sent=sum(map(len, site.files.values())), files_deleted=0
    )
    assert objects(s3, bucket) == expected(site)
    seen = {}
    with s3.client() as client:
        for path, data in site.files.items():
            head = client.head_object(Bucket=bucket, Key=path.lstrip("/"))
            assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}
            seen[path] = (head["ContentType"], head["CacheControl"])
        proof = client.head_object(Bucket=bucket, Key=MANIFEST_PATH.lstrip("/"))
    media = next(p for p in site.files if p.startswith("/media/"))
    assert seen[media] == ("image/jpeg", IMMUTABLE)
    assert seen["/index.html"] == ("text/html; charset=utf-8", SHORT)
    assert seen["/d/0/index.html"] == ("text/html; charset=utf-8", SHORT)
    assert seen["/feed.atom"] == ("application/atom+xml", SHORT)
    assert seen["/static/site.0123456789ab.css"] == ("text/css; charset=utf-8", IMMUTABLE)
    assert (proof["ContentType"], proof["CacheControl"]) == ("application/json", SHORT)


def test_incremental_removal_and_idempotent_deploys(s3, tmp_path):
    bucket = new_bucket(s3)
    target = target_for(f"s3://{bucket}/sitio/")
    v1 = build(tmp_path / "site", KEY)
    target.deploy(v1.root, v1.manifest, None)
    v2 = build(v1.root, KEY, files_v2(), BASE_TIME + 60)
    report = target.deploy(v2.root, v2.manifest, v1.manifest)
    changed = [p for p, b in v2.files.items() if v1.files.get(p) != b]
    assert report == Report(
        files_sent=4, bytes_sent=sum(len(v2.files[p]) for p in changed), files_deleted=1
    )
    assert objects(s3, bucket) == expected(v2, "sitio/")
    assert target.deploy(v2.root, v2.manifest, v2.manifest) == Report()
    # Without knowing what was deployed (a lost record), the labels tell: nothing sent.
    assert target.deploy(v2.root, v2.manifest, None) == Report()


def test_the_prefix_is_the_site_and_nothing_outside_it_is_touched(s3, tmp_path):
    bucket = new_bucket(s3)
    with s3.client() as client:
        for key in ("sitio/old.html", "sitio/d/9/index.html", "sitio2/keep.txt", "backup/x"):
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
        client.put_object(Bucket=bucket, Key="sitio/index.html", Body=b"an older front page")
    site = build(tmp_path / "site", KEY)
    report = target_for(f"s3://{bucket}/sitio").deploy(site.root, site.manifest, None)
    assert report.files_deleted == 2
    assert report.files_sent == len(site.files)
    assert objects(s3, bucket) == {
        **expected(site, "sitio/"),
        "sitio2/keep.txt": b"x",
        "backup/x": b"x",
    }


def test_a_damaged_object_of_another_size_is_replaced(s3, tmp_path):
    bucket = new_bucket(s3)
    target = target_for(f"s3://{bucket}")
    site = build(tmp_path / "site", KEY)
    target.deploy(site.root, site.manifest, None)
    with s3.client() as client:
        client.put_object(Bucket=bucket, Key="index.html", Body=b"defaced")
        client.delete_object(Bucket=bucket, Key="feed.atom")
    report = target.deploy(site.root, site.manifest, site.manifest)
    assert report.files_sent == 2
    assert objects(s3, bucket) == expected(site)


class FlakyProxy:
    """Forwards to the S3 server; after ``ok_puts`` uploads it answers every
    request 503 SlowDown, in S3's own XML error format, until healed."""

    def __init__(self, upstream: int, ok_puts: int) -> None:
        self.upstream = upstream
        self.ok_puts = ok_puts
        self.failing = False
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "PUT":
                    if proxy.ok_puts == 0:
                        proxy.failing = True
                    proxy.ok_puts -= 1
                if proxy.failing:
                    proxy.refused += 1
                    error = (
                        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                        b"<Message>Please reduce your request rate.</Message></Error>"
                    )
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=30)
                conn.request(self.command, self.path, body, dict(self.headers))
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def test_a_failure_mid_way_is_retried_and_completes(s3, settings, tmp_path):
    bucket = new_bucket(s3)
    site = build(tmp_path / "site", KEY)
    proxy = FlakyProxy(s3.port, ok_puts=2)
    try:
        settings.MINGA = minga_config.load({"s3_endpoint": f"http://127.0.0.1:{proxy.port}"})
        target = target_for(f"s3://{bucket}")
        with pytest.raises(RetryLater, match="SlowDown"):
            target.deploy(site.root, site.manifest, None)
        assert proxy.refused >= 1
        assert len(objects(s3, bucket)) == 2  # two files went before the trouble
        proxy.failing = False
        report = target.deploy(site.root, site.manifest, None)
    finally:
        proxy.close()
    assert report.files_sent == len(site.files) - 2  # the two already there are not re-sent
    assert objects(s3, bucket) == expected(site)


def test_a_stopped_server_is_retried_and_a_missing_bucket_needs_a_person(s3, tmp_path):
    bucket = new_bucket(s3)
    site = build(tmp_path / "site", KEY)
    s3.stop()
    with pytest.raises(RetryLater):
        target_for(f"s3://{bucket}").deploy(site.root, site.manifest, None)
    s3.start()
    report = target_for(f"s3://{bucket}").deploy(site.root, site.manifest, None)
    assert report.files_sent == len(site.files)
    with pytest.raises(PublishError, match="NoSuchBucket") as refused:
        target_for("s3://no-such-bucket-here").deploy(site.root, site.manifest, None)
    assert not isinstance(refused.value, RetryLater)


def test_target_urls():
    target = target_for("s3://my-bucket/a/b")
    assert isinstance(target, S3Target)
    assert (target.bucket, target.prefix) == ("my-bucket", "a/b/")
    assert target_for("s3://my-bucket").prefix == ""


@pytest.mark.parametrize(
    ("code", "status", "passing"),
    [
        ("SlowDown", 503, True),
        ("InternalError", 500, True),
        ("RequestTimeout", 400, True),
        ("BadDigest", 400, True),
        ("SomethingNew", 502, True),
        ("TooManyRequests", 429, True),
        ("AccessDenied", 403, False),
        ("NoSuchBucket", 404, False),
        ("InvalidAccessKeyId", 403, False),
        ("SignatureDoesNotMatch", 403, False),
    ],
)
def test_s3_errors_are_sorted_by_whether_waiting_helps(code, status, passing):
    from botocore.exceptions import ClientError

    from minga.publish.targets.s3 import s3_errors

    answer = {
        "Error": {"Code": code, "Message": "said the server"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {"retry-after": "7"}},
    }
    with pytest.raises(PublishError, match=code) as raised, s3_errors("s3://b"):
        raise ClientError(answer, "PutObject")
    assert isinstance(raised.value, RetryLater) is passing
    if passing:
        assert raised.value.after == 7.0
