"""The one exception tree of minga.

Every error minga raises on purpose derives from :class:`MingaError`. Errors that
can reach a client carry an HTTP ``status`` and, for the relay, a NIP-01
machine-readable ``prefix`` (``invalid``, ``blocked``, ``rate-limited``, …), so
one handler per surface turns them into a response::

    MingaError
    ├── ConfigError                 settings that cannot be used (start-up)
    ├── InvalidInput (400, invalid)  anything from outside that fails validation
    │   ├── InvalidEvent             an event: shape, id, signature, limits
    │   ├── InvalidFilter            a NIP-01 filter
    │   ├── InvalidKey               a key in hex / nsec / ncryptsec form
    │   ├── InvalidBlob              an upload: hash mismatch, bad range…
    │   ├── InvalidNegentropy        a NIP-77 negentropy message that cannot be decoded
    │   └── InvalidBundle            a bundle part: truncated, corrupt, forged, a bomb…
    ├── TooLarge (413, invalid)      over a size limit
    ├── Unauthorized (401, auth-required)
    ├── Forbidden (403, restricted)
    │   └── Blocked (403, blocked)   the key may not publish (not on the roster, revoked)
    ├── RateLimited (429, rate-limited)
    ├── NotFound (404)
    ├── Conflict (409)
    ├── KeyVaultError                custodial keys cannot be decrypted / stored
    ├── StoreError (500, error)      the store failed; nothing was half-written
    ├── SyncError (502)              a peer, relay or server could not be talked to
    └── PublishError (502)           a deploy target or syndication channel refused
        ├── RetryLater               a passing failure (network, 5xx, 429): try again
        └── Uncertain                the outcome of a send is unknown: never sent again
                                     on its own (a person checks, so nothing posts twice)
"""

from __future__ import annotations


class MingaError(Exception):
    """Root of every error minga raises on purpose."""

    status: int = 500
    prefix: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def nostr_reason(self) -> str:
        """The message in NIP-01 ``prefix: text`` form, for OK and CLOSED."""
        return f"{self.prefix}: {self.message}"


class ConfigError(MingaError):
    """A setting is missing, malformed or contradicts another."""


class InvalidInput(MingaError):
    status = 400
    prefix = "invalid"


class InvalidEvent(InvalidInput):
    """An event that is not a valid NIP-01 event, or breaks a limit."""


class InvalidFilter(InvalidInput):
    """A NIP-01 filter with unknown fields or values of the wrong shape."""


class InvalidKey(InvalidInput):
    """A key that cannot be parsed or decrypted."""


class InvalidBlob(InvalidInput):
    """A blob upload or request that cannot be honoured."""


class InvalidNegentropy(InvalidInput):
    """A negentropy (NIP-77) message that is not protocol v1 or is cut short."""


class InvalidBundle(InvalidInput):
    """A bundle part (sneakernet file) that cannot be imported whole: nothing of it is stored."""


class TooLarge(MingaError):
    status = 413
    prefix = "invalid"


class Unauthorized(MingaError):
    status = 401
    prefix = "auth-required"


class Forbidden(MingaError):
    status = 403
    prefix = "restricted"


class Blocked(Forbidden):
    prefix = "blocked"


class RateLimited(MingaError):
    status = 429
    prefix = "rate-limited"


class NotFound(MingaError):
    status = 404
    prefix = "invalid"


class Conflict(MingaError):
    status = 409
    prefix = "invalid"


class KeyVaultError(MingaError):
    """A custodial key cannot be sealed or opened (wrong master key, tampering)."""


class StoreError(MingaError):
    """The store could not complete an operation; the transaction was rolled back."""


class PublishError(MingaError):
    """A deploy target or a syndication channel failed for good (bad credentials,
    a refusal): retrying would not help, a person must look."""

    status = 502


class RetryLater(PublishError):
    """A passing failure (no network, a 5xx, rate limited): try again later.

    ``after`` is the wait the remote asked for (seconds), when it said.
    """

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


class Uncertain(PublishError):
    """A send whose outcome is unknown (the link died after sending): the item is
    not sent again automatically, so it is never posted twice."""


class SyncError(MingaError):
    """Replication could not talk to a peer, relay or server (it tries again)."""

    status = 502
