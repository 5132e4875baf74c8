"""The `minga` command as a real process, on its own data folder and database."""

from __future__ import annotations

import json
import re

from minga.events import SecretKey, sign_event
from minga.keys import nip19, nip49


def npub_of(output: str, label: str) -> str:
    for line in output.splitlines():
        if line.rstrip().endswith(label):
            return line.split()[0]
    raise AssertionError(f"{label} not in {output!r}")


def test_init_creates_keys_outlet_admin_and_roster(node_process):
    done = node_process.minga("init", "--outlet", "Radio Prueba", "--admin", "ana")
    assert "outlet:      Radio Prueba (npub1" in done.stdout
    assert re.search(r"password:\s+\S{12,}", done.stdout)
    listing = node_process.minga("keys", "list").stdout
    assert "node" in listing
    assert "outlet  Radio Prueba" in listing
    admin_npub = npub_of(listing, "ana")
    roster = node_process.minga("roster", "show").stdout
    assert f"admin        {admin_npub}" in roster
    # Running init again changes nothing and says so plainly.
    again = node_process.minga("init", "--outlet", "Otro nombre")
    assert "Radio Prueba" in again.stdout
    assert (node_process.data_dir / "secrets" / "vault.key").stat().st_mode & 0o077 == 0


def test_keys_new_import_export(node_process):
    node_process.minga("init")
    made = node_process.minga("keys", "new", "--label", "Rosa").stdout
    assert made.startswith("npub1")
    key = SecretKey.generate()
    imported = node_process.minga(
        "keys", "import", "--label", "Teo", "--secret", nip19.nsec_encode(key.hex())
    )
    assert key.pubkey in imported.stdout
    other = SecretKey.generate()
    sealed = nip49.encrypt(other.secret_bytes(), "clave", log_n=14)
    node_process.minga("keys", "import", "--label", "Lu", "--secret", sealed, "--password", "clave")
    assert other.pubkey in node_process.minga("keys", "list").stdout
    exported = node_process.minga(
        "keys", "export", key.pubkey, "--log-n", "16", input="nueva\nnueva\n"
    )
    ncryptsec = exported.stdout.strip().splitlines()[-1]
    assert nip49.decrypt(ncryptsec, "nueva") == key.secret_bytes()
    bad = node_process.minga("keys", "import", "--label", "X", "--secret", "nsec1nope", check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith("minga: ")


def test_import_export_and_query_round_trip(node_process, tmp_path):
    node_process.minga("init")
    reporter = SecretKey.generate()
    node_process.minga("roster", "add", reporter.pubkey, "--role", "reporter")
    events = [sign_event(reporter, 1, f"nota {n}", [["t", "paro"]]) for n in range(50)]
    stranger = sign_event(SecretKey.generate(), 1, "ajeno")
    lines = [e.to_json() for e in events] + [
        "{not json",
        json.dumps(dict(events[0].to_dict(), content="alterado")),
        stranger.to_json(),
        events[1].to_json(),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    done = node_process.minga("import", str(source))
    assert "50 stored, 1 already here, 3 refused" in done.stdout
    assert "line 51: invalid: not valid JSON" in done.stderr
    assert "line 52: invalid: event id does not match" in done.stderr
    assert "line 53: blocked: this key is not on the outlet's roster" in done.stderr
    found = node_process.minga("events", '{"#t": ["paro"], "limit": 10}').stdout.splitlines()
    assert len(found) == 10
    assert all(json.loads(line)["pubkey"] == reporter.pubkey for line in found)
    exported = tmp_path / "out.jsonl"
    node_process.minga("export", "-o", str(exported))
    ids = {json.loads(line)["id"] for line in exported.read_text().splitlines()}
    assert {e.id for e in events} <= ids
    again = node_process.minga("import", str(exported))
    assert f"0 stored, {len(ids)} already here, 0 refused" in again.stdout


def test_revoked_keys_events_are_refused_on_import(node_process, tmp_path):
    node_process.minga("init")
    seized = SecretKey.generate()
    node_process.minga("roster", "add", nip19.npub_encode(seized.pubkey))
    node_process.minga(
        "roster", "revoke", seized.pubkey, "--since", "2026-01-01", "--reason", "incautado"
    )
    shown = node_process.minga("roster", "show").stdout
    assert "revoked" in shown
    assert "incautado" in shown
    before = sign_event(seized, 1, "antes", created_at=1_700_000_000)
    after = sign_event(seized, 1, "después", created_at=1_780_000_000)
    source = tmp_path / "in.jsonl"
    source.write_text(before.to_json() + "\n" + after.to_json() + "\n")
    done = node_process.minga("import", str(source))
    assert "1 stored, 0 already here, 1 refused" in done.stdout
    assert "blocked: this key was revoked by the outlet" in done.stderr


def test_bad_input_on_the_command_line(node_process):
    node_process.minga("init")
    bad_filter = node_process.minga("events", "{nope", check=False)
    assert bad_filter.returncode == 1
    assert "minga: the filter is not JSON" in bad_filter.stderr
    unknown = node_process.minga("events", '{"search": "x"}', check=False)
    assert "minga: unknown filter field 'search'" in unknown.stderr
    node_process.env["MINGA_PORT"] = "ochenta"
    bad_setting = node_process.minga("settings", check=False)
    assert bad_setting.returncode == 1
    assert "setting port from MINGA_PORT" in bad_setting.stderr


def test_settings_table(node_process):
    listing = node_process.minga("settings").stdout
    assert re.search(r"^max_limit\s+1000\s+Largest `limit`", listing, re.M)
    assert "database_url" in listing
