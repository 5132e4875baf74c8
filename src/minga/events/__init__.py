"""The spine: NIP-01 events, keys, validation and filters (no web framework here)."""

from minga.events.event import Event, compute_id, newer, serialize_for_id
from minga.events.filters import Filter, FilterLimits, matches_any, parse_filter, parse_filters
from minga.events.kinds import KindClass, kind_class
from minga.events.signing import SecretKey, sign_event, verify_signature
from minga.events.validate import Limits, parse_event, parse_event_json

__all__ = [
    "Event",
    "Filter",
    "FilterLimits",
    "KindClass",
    "Limits",
    "SecretKey",
    "compute_id",
    "kind_class",
    "matches_any",
    "newer",
    "parse_event",
    "parse_event_json",
    "parse_filter",
    "parse_filters",
    "serialize_for_id",
    "sign_event",
    "verify_signature",
]
