"""Shared helpers for the benchmark scripts (not part of the minga package).

Each bench script sets up its own data folder and database, so it never
touches a real node's data. PostgreSQL figures use MINGA_BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres, where a throw-away
database is created and dropped).
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
PG_ADMIN_URL = os.environ.get(
    "MINGA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def setup(backend: str) -> tuple[str, str | None]:
    """Point minga at a fresh store; return (data dir, postgres db name or None)."""
    data = tempfile.mkdtemp(prefix=f"minga-bench-{backend}-")
    atexit.register(shutil.rmtree, data, ignore_errors=True)
    os.environ["MINGA_DATA_DIR"] = data
    os.environ["MINGA_VAULT_KEY"] = "22" * 32
    os.environ["MINGA_LOG_LEVEL"] = "warning"
    dbname = None
    if backend == "postgresql":
        import psycopg

        dbname = f"minga_bench_{os.getpid()}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            conn.execute(f'CREATE DATABASE "{dbname}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        os.environ["MINGA_DATABASE_URL"] = f"{base}/{dbname}"
    else:
        os.environ.pop("MINGA_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "minga.web.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return data, dbname


def drop_pg(dbname: str | None) -> None:
    if dbname is None:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


WORDS = [
    "paro",
    "marcha",
    "plaza",
    "policía",
    "gases",
    "brigadistas",
    "heridos",
    "bloqueo",
    "carretera",
    "asamblea",
    "comuneros",
    "dirigenta",
    "vecinos",
    "mercado",
    "transporte",
    "detenidos",
    "cuadras",
    "vallas",
    "prensa",
    "cámara",
    "reportera",
    "the",
    "strike",
    "march",
    "square",
    "police",
    "medics",
    "road",
    "assembly",
    "market",
    "transport",
    "press",
    "camera",
]


def _make(args: tuple[int, int, int, int, str]) -> list[str]:
    """Sign events seed..seed+count (in a worker process).

    Profile "newsroom": 60 % notes, 20 % long-form dispatches (1.5-6 KB),
    reactions and media metadata; about 1.6 KB an event. Profile "notes":
    short kind-1 notes as most Nostr traffic is (40-400 characters).
    """
    from minga.events import SecretKey, sign_event

    seed, count, authors, start_time, profile = args
    people = random.Random(authors)  # the same authors in every chunk
    keys = [SecretKey(people.randbytes(31) + b"\x01") for _ in range(authors)]
    rng = random.Random(seed)
    lines = []
    for n in range(count):
        author = rng.randrange(authors)
        roll = rng.random() if profile == "newsroom" else 0.0
        kind = 1 if roll < 0.6 else 30023 if roll < 0.8 else 7 if roll < 0.9 else 1063
        if profile == "notes":
            size = rng.randrange(40, 400)
        elif kind == 30023:
            size = rng.choice([1500, 3000, 6000])
        else:
            size = rng.choice([120, 280, 600, 1500])
        words = []
        while sum(len(w) + 1 for w in words) < size:
            words.append(rng.choice(WORDS))
        tags = [["t", rng.choice(WORDS)], ["p", keys[rng.randrange(authors)].pubkey]]
        if kind == 30023:
            tags += [["d", f"despacho-{seed}-{n}"], ["title", " ".join(words[:6])]]
        if kind == 7:
            tags.append(["e", f"{rng.getrandbits(256):064x}"])
        created = start_time + (seed + n) * 3
        lines.append(sign_event(keys[author], kind, " ".join(words), tags, created).to_json())
    return lines


def events_file(count: int, authors: int = 1000, profile: str = "newsroom") -> Path:
    """A JSON-lines file of ``count`` signed, realistic events (cached in bench/out)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"events-{profile}-{count}-{authors}.jsonl"
    if path.exists():
        return path
    chunk = 10_000
    jobs = [
        (s, min(chunk, count - s), authors, 1_700_000_000, profile) for s in range(0, count, chunk)
    ]
    tmp = path.with_suffix(".tmp")
    started = time.perf_counter()
    with ProcessPoolExecutor(os.cpu_count()) as pool, tmp.open("w") as out:
        for n, lines in enumerate(pool.map(_make, jobs)):
            out.write("\n".join(lines) + "\n")
            if n % 10 == 0:
                print(f"  signed {(n + 1) * chunk:,} events", file=sys.stderr, flush=True)
    tmp.rename(path)
    print(f"  made {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def record(name: str, result: dict) -> None:
    OUT.mkdir(exist_ok=True)
    result = {"figure": name, "date": time.strftime("%Y-%m-%d"), "machine": machine(), **result}
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
