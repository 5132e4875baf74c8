"""A Bluesky PDS's XRPC endpoints, as much as syndication uses, on loopback.

Wire format from the AT Protocol lexicons (com.atproto.server.*,
com.atproto.repo.*, app.bsky.feed.post) and what a real ``@atproto/pds``
answers (seen running one here): errors are ``{"error": Name, "message": …}``;
an expired access token is 400 ``ExpiredToken``; a record key already taken
is a 500; a missing record is 400 ``RecordNotFound``; records are validated
(300 graphemes, TID record keys, images of at most 1,000,000 bytes). The
real PDS is also driven directly in ``test_channel_bluesky.py`` where it is
installed, and this stand-in is checked with the ``atproto`` client library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

import regex

from tests.publish.standins.server import Answer, Request, StandIn

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
DID = "did:plc:prueba2345abcdefghijklmn"


def cid(data: bytes, codec: int) -> str:
    """CIDv1 (sha2-256) in base32: raw 0x55 for blobs, dag-cbor 0x71 for records."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


@dataclass
class Record:
    rkey: str
    value: dict[str, Any]
    cid: str
    deleted: bool = False


class Bluesky(StandIn):
    def __init__(self, handle: str = "prueba.test", password: str = "app-pass-1") -> None:  # noqa: S107
        super().__init__()
        self.account = handle
        self.password = password
        self.records: dict[str, Record] = {}
        self.blobs: dict[str, bytes] = {}
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.expired: set[str] = set()
        self._tokens = itertools.count(1)
        self._clock = itertools.count(1)

    def live(self) -> list[Record]:
        return [r for r in self.records.values() if not r.deleted]

    def expire_access(self) -> None:
        self.expired |= self.access

    @staticmethod
    def error(status: int, name: str, message: str) -> Answer:
        return Answer(status, {"error": name, "message": message})

    def _jwt(self, scope: str, number: int) -> str:
        """A token shaped as the PDS makes them (HS256 JWT), as clients decode them."""

        def part(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        claims = {"scope": scope, "sub": DID, "iat": 1790000000 + number, "exp": 4102444800}
        head = f"{part({'typ': 'at+jwt', 'alg': 'HS256'})}.{part(claims)}"
        signature = hmac.new(b"stand-in", head.encode(), hashlib.sha256).digest()
        return f"{head}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"

    def _session(self) -> dict[str, Any]:
        number = next(self._tokens)
        access = self._jwt("com.atproto.access", number)
        refresh = self._jwt("com.atproto.refresh", number)
        self.access.add(access)
        self.refresh.add(refresh)
        return {
            "did": DID,
            "handle": self.account,
            "email": "prueba@example.com",
            "emailConfirmed": True,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }

    def _token(self, request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    def handle(self, request: Request) -> Answer:
        method = request.path.removeprefix("/xrpc/")
        if method == "com.atproto.server.createSession":
            body = request.json()
            if (
                body.get("identifier") not in {self.account, DID}
                or body.get("password") != self.password
            ):
                return self.error(401, "AuthenticationRequired", "Invalid identifier or password")
            return Answer(200, self._session())
        if method == "com.atproto.server.refreshSession":
            token = self._token(request)
            if token in self.expired:
                return self.error(400, "ExpiredToken", "Token has expired")
            if token not in self.refresh:
                return self.error(400, "InvalidToken", "Token could not be verified")
            self.refresh.discard(token)
            return Answer(200, self._session())
        if method == "com.atproto.repo.getRecord":
            return self._get(request)
        token = self._token(request)
        if token in self.expired:
            return self.error(400, "ExpiredToken", "Token has expired")
        if token not in self.access:
            return self.error(401, "AuthenticationRequired", "Authentication Required")
        if method == "com.atproto.repo.uploadBlob":
            ref = cid(request.body, 0x55)
            self.blobs[ref] = request.body
            mime = request.headers.get("content-type", "application/octet-stream")
            blob = {
                "$type": "blob",
                "ref": {"$link": ref},
                "mimeType": mime,
                "size": len(request.body),
            }
            return Answer(200, {"blob": blob})
        if method == "com.atproto.repo.createRecord":
            return self._create(request.json())
        if method == "com.atproto.repo.deleteRecord":
            body = request.json()
            record = self.records.get(body.get("rkey", ""))
            if record is not None:
                record.deleted = True
            return Answer(200, {"commit": {"cid": cid(b"commit", 0x71), "rev": "3n3c45av2qc22"}})
        if method == "app.bsky.actor.getProfile":
            return Answer(200, {"did": DID, "handle": self.account, "displayName": "Prueba"})
        return self.error(501, "MethodNotImplemented", "Method Not Implemented")

    def _uri(self, rkey: str) -> str:
        return f"at://{DID}/app.bsky.feed.post/{rkey}"

    def _get(self, request: Request) -> Answer:
        rkey = request.query.get("rkey", [""])[0]
        record = self.records.get(rkey)
        if record is None or record.deleted:
            return self.error(400, "RecordNotFound", f"Could not locate record: {self._uri(rkey)}")
        return Answer(200, {"uri": self._uri(rkey), "cid": record.cid, "value": record.value})

    def _next_tid(self) -> str:
        value = (1_790_000_000_000_000 + next(self._clock)) << 10
        alphabet = "234567abcdefghijklmnopqrstuvwxyz"
        return "".join(alphabet[(value >> (60 - 5 * i)) & 31] for i in range(13))

    def _create(self, body: dict[str, Any]) -> Answer:
        if (
            body.get("repo") not in {DID, self.account}
            or body.get("collection") != "app.bsky.feed.post"
        ):
            return self.error(400, "InvalidRequest", "Invalid repo or collection")
        rkey = body.get("rkey") or self._next_tid()
        if not TID.match(rkey):
            return self.error(
                400,
                "InvalidRequest",
                f'Invalid record key for app.bsky.feed.post: Invalid TID string (got "{rkey}") at $',
            )
        if rkey in self.records:
            return self.error(500, "InternalServerError", "Internal Server Error")
        record = body.get("record")
        problem = self._invalid(record)
        if problem:
            return self.error(
                400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {problem}"
            )
        ref = cid(json.dumps(record, sort_keys=True).encode(), 0x71)
        self.records[rkey] = Record(rkey, record, ref)
        return Answer(
            200,
            {
                "uri": self._uri(rkey),
                "cid": ref,
                "commit": {"cid": cid(rkey.encode(), 0x71), "rev": rkey},
                "validationStatus": "valid",
            },
        )

    def _invalid(self, record: Any) -> str:
        if not isinstance(record, dict) or record.get("$type") != "app.bsky.feed.post":
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str) or not isinstance(record.get("createdAt"), str):
            return "Record must have the properties text and createdAt"
        graphemes = len(regex.findall(r"\X", text))
        if graphemes > 300:
            return f"grapheme too big (maximum 300, got {graphemes}) at $.record.text"
        if len(text.encode()) > 3000:
            return "string too long at $.record.text"
        size = len(text.encode())
        for facet in record.get("facets", []):
            index = facet.get("index", {})
            if not 0 <= index.get("byteStart", -1) < index.get("byteEnd", -1) <= size:
                return "facet index out of range at $.record.facets"
            for feature in facet.get("features", []):
                if feature.get("$type") not in {
                    "app.bsky.richtext.facet#link",
                    "app.bsky.richtext.facet#tag",
                    "app.bsky.richtext.facet#mention",
                }:
                    return "unknown facet feature"
        if len(record.get("langs", [])) > 3:
            return "langs too long"
        embed = record.get("embed")
        if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.images":
            shown = embed.get("images", [])
            if len(shown) > 4:
                return "Array too long at $.record.embed.images"
            for number, image in enumerate(shown):
                if not isinstance(image.get("alt"), str):
                    return f'Record/embed/images/{number} must have the property "alt"'
                blob = image.get("image", {})
                ref = blob.get("ref", {}).get("$link")
                if ref not in self.blobs:
                    return f"Could not find blob: {ref}"
                if len(self.blobs[ref]) > 1_000_000:
                    return f"blob too big (maximum 1000000, got {len(self.blobs[ref])}) at $.record.embed.images[{number}].image"
        return ""
