"""An S3-compatible bucket (AWS S3, MinIO, Garage, Ceph, Cloudflare R2, B2…).

The bucket, or the part of it under the prefix, belongs to the site: after a
deploy it holds exactly the site's files. Objects are listed first; a file
is uploaded when the last deployed manifest had another hash for it, or when
its object is missing, has another size, or was not labelled with this
hash by minga (``x-amz-meta-sha256``, read with HEAD). Each object gets its
Content-Type and Cache-Control (a minute for pages and feeds, a year and
``immutable`` for ``/media/`` and hashed static files); the body is checked by
the server against its MD5 (Content-MD5). Objects the site no longer has are
deleted, and the manifest goes last.

Credentials are ``s3_access_key`` and ``s3_secret_key`` (environment
``MINGA_S3_ACCESS_KEY``… or owner-only files), never settings.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from django.conf import settings

from minga.events.event import Event
from minga.exceptions import PublishError, RetryLater
from minga.keys.secrets import credential
from minga.publish.targets.base import Report, manifest_paths
from minga.publish.targets.sitefiles import (
    MANIFEST_RELATIVE,
    SHORT,
    SiteFile,
    cache_control,
    content_type,
    manifest_bytes,
    site_files,
)

# Codes of passing trouble; any other refusal needs a person.
_PASSING = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "Throttling",
        "ThrottlingException",
        "TooManyRequests",
        "RequestLimitExceeded",
        "BadDigest",  # the body changed on the way, or the file while it was read
        "XAmzContentSHA256Mismatch",
        "OperationAborted",
    }
)
_CHUNK = 1 << 20
_DELETE_BATCH = 1000


class S3Target:
    def __init__(self, url: str, bucket: str, prefix: str) -> None:
        self.url = url
        self.bucket = bucket
        self.prefix = prefix  # "" or ending with "/"

    def client(self) -> Any:
        data = settings.MINGA.data_path
        endpoint = settings.MINGA.s3_endpoint or None
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=settings.MINGA.s3_region or None,
            aws_access_key_id=credential("s3_access_key", data),
            aws_secret_access_key=credential("s3_secret_key", data),
            config=Config(
                connect_timeout=15,
                read_timeout=120,
                retries={"mode": "standard", "max_attempts": 3},
                # Many S3-compatible servers reject the newer default checksums.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                # Path-style for other services (no wildcard DNS needed), AWS's default there.
                s3={"addressing_style": "path" if endpoint else "auto"},
            ),
        )

    def deploy(self, site: Path, manifest: Event, previous: Event | None) -> Report:
        proof = manifest_bytes(site, manifest)  # first: is this the version the site holds?
        files = site_files(site, manifest)
        before = manifest_paths(previous)
        with s3_errors(self.url), closing(self.client()) as s3:
            there = self._listing(s3)
            sent = sent_bytes = 0
            for item in files:
                key = self.prefix + item.relative
                if self._current(s3, key, item, there.get(key), before.get(item.path)):
                    continue
                self._put_file(s3, key, item)
                sent += 1
                sent_bytes += item.size
            manifest_key = self.prefix + MANIFEST_RELATIVE
            wanted = {self.prefix + f.relative for f in files} | {manifest_key}
            gone = sorted(k for k in there if k not in wanted)
            for start in range(0, len(gone), _DELETE_BATCH):
                self._delete(s3, gone[start : start + _DELETE_BATCH])
            s3.put_object(
                Bucket=self.bucket,
                Key=manifest_key,
                Body=proof,
                ContentType="application/json",
                CacheControl=SHORT,
                ContentMD5=base64.b64encode(
                    hashlib.md5(proof, usedforsecurity=False).digest()
                ).decode(),
                Metadata={"sha256": hashlib.sha256(proof).hexdigest()},
            )
        return Report(files_sent=sent, bytes_sent=sent_bytes, files_deleted=len(gone))

    def _listing(self, s3: Any) -> dict[str, int]:
        """Every object under the prefix: key → size."""
        found: dict[str, int] = {}
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                found[item["Key"]] = int(item["Size"])
        return found

    def _current(
        self, s3: Any, key: str, item: SiteFile, size: int | None, before: str | None
    ) -> bool:
        """Whether the object at ``key`` already holds ``item``."""
        if size is None or size != item.size:
            return False
        if before == item.sha256:
            return True
        try:
            head = s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False  # deleted since the listing
            raise
        return bool(head.get("Metadata", {}).get("sha256") == item.sha256)

    def _put_file(self, s3: Any, key: str, item: SiteFile) -> None:
        md5 = hashlib.md5(usedforsecurity=False)  # Content-MD5: how every S3 checks a body
        sha = hashlib.sha256()
        with item.source.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                md5.update(chunk)
                sha.update(chunk)
        if sha.hexdigest() != item.sha256:
            raise RetryLater(f"{item.source} does not match the manifest (site rebuilt?)")
        with item.source.open("rb") as body:
            s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentLength=item.size,
                ContentType=content_type(item.path),
                CacheControl=cache_control(item.path),
                ContentMD5=base64.b64encode(md5.digest()).decode(),
                Metadata={"sha256": item.sha256},
            )

    def _delete(self, s3: Any, keys: list[str]) -> None:
        answer = s3.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
        )
        errors = answer.get("Errors") or []
        if errors:
            first = errors[0]
            raise _classify(
                first.get("Code", ""), 0, f"{first.get('Key')}: {first.get('Message', '')}"
            )


@contextmanager
def s3_errors(where: str) -> Iterator[None]:
    """boto3's errors as RetryLater (network, 5xx, throttling) or PublishError."""
    try:
        yield
    except NoCredentialsError as exc:
        raise PublishError(
            f"{where}: no S3 credentials (set MINGA_S3_ACCESS_KEY and MINGA_S3_SECRET_KEY,"
            " or the files s3_access_key and s3_secret_key in <data_dir>/secrets)"
        ) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 0)
        after = (meta.get("HTTPHeaders") or {}).get("retry-after")
        code = str(error.get("Code") or status)
        text = f"{where}: {code} {error.get('Message') or ''}".strip()
        problem = _classify(code, status, text)
        if isinstance(problem, RetryLater) and after and after.isdigit():
            problem.after = float(after)
        raise problem from exc
    except BotoCoreError as exc:  # no connection, timeouts, a cut mid-answer
        raise RetryLater(f"{where}: {exc}") from exc


def _classify(code: str, status: int, text: str) -> PublishError:
    if code in _PASSING or status >= 500 or status == 429:
        return RetryLater(text)
    return PublishError(text)
