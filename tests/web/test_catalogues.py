"""Every interface string has its Spanish translation, and the compiled
catalogue matches its source."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "src" / "minga" / "web" / "locale"


def entries(po: str) -> list[tuple[str, str, bool]]:
    out = []
    for block in po.split("\n\n"):
        match = re.search(r'^msgid ((?:".*"\n?)+)^msgstr ((?:".*"\n?)+)', block, re.M)
        if match and "msgid_plural" not in block:
            msgid = "".join(re.findall(r'"(.*)"', match.group(1)))
            msgstr = "".join(re.findall(r'"(.*)"', match.group(2)))
            out.append((msgid, msgstr, "fuzzy" in block))
    return out


def test_spanish_is_complete():
    po = (LOCALE / "es" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    missing = [msgid for msgid, msgstr, _ in entries(po) if msgid and not msgstr]
    fuzzy = [msgid for msgid, _, is_fuzzy in entries(po) if is_fuzzy and msgid]
    assert missing == []
    assert fuzzy == []


@pytest.mark.parametrize("language", ["es", "en"])
def test_compiled_catalogue_is_up_to_date(tmp_path, language):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt is not None, "msgfmt (Debian package gettext) is needed; .ci/run installs it"
    folder = LOCALE / language / "LC_MESSAGES"
    fresh = tmp_path / "django.mo"
    subprocess.run(
        [msgfmt, "-o", str(fresh), str(folder / "django.po")], check=True, capture_output=True
    )
    assert fresh.read_bytes() == (folder / "django.mo").read_bytes(), "run `make messages`"
