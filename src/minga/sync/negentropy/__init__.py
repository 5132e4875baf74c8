"""NIP-77 negentropy: set reconciliation of (created_at, id) items, both roles.

The codec (:mod:`.wire`, :mod:`.items`, :mod:`.protocol`) is plain Python with
no Django import; :mod:`.store` reads a node's items for a filter.
"""

from minga.exceptions import InvalidNegentropy
from minga.sync.negentropy.protocol import Negentropy

__all__ = ["InvalidNegentropy", "Negentropy"]
