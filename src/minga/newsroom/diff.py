"""Word-level differences between two versions of a text, as safe HTML."""

from __future__ import annotations

import difflib
import re

from django.utils.html import escape

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


def words(old: str, new: str) -> str:
    """``<del>``/``<ins>`` marked HTML of what changed from ``old`` to ``new``."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    return "".join(out).replace("\n", "<br>")
