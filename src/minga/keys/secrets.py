"""Secrets from the environment or from owner-only files in ``<data_dir>/secrets``."""

from __future__ import annotations

import os
import secrets as _random
import stat
from pathlib import Path

from minga.exceptions import ConfigError


def secrets_dir(data_path: Path) -> Path:
    return data_path / "secrets"


def read_secret(name: str, env_var: str, data_path: Path, *, create: bool = False) -> bytes:
    """Return a 32-byte secret: ``env_var`` (64 hex) wins, else the file ``name``.

    A file readable by group or others is refused: a custodial key vault must
    not be one ``chmod`` away from every user of the machine.
    """
    from_env = os.environ.get(env_var)
    if from_env:
        try:
            value = bytes.fromhex(from_env.strip())
        except ValueError as exc:
            raise ConfigError(f"{env_var} must be 64 hexadecimal characters") from exc
        if len(value) != 32:
            raise ConfigError(f"{env_var} must be 64 hexadecimal characters")
        return value
    path = secrets_dir(data_path) / name
    if not path.exists():
        if not create:
            raise ConfigError(
                f"no secret {name}: set {env_var} or run `minga init` to create {path}"
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = _random.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value.hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return value
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600 {path})")
    try:
        value = bytes.fromhex(path.read_text().strip())
    except ValueError as exc:
        raise ConfigError(f"{path} must hold 64 hexadecimal characters") from exc
    if len(value) != 32:
        raise ConfigError(f"{path} must hold 64 hexadecimal characters")
    return value


def credential(name: str, data_path: Path) -> str | None:
    """A service credential (token, password): ``MINGA_<NAME>`` in the environment,
    else the owner-only file ``<data_dir>/secrets/<name>``; None when neither is set.

    Credentials are never settings: settings may sit in a world-readable TOML file.
    """
    from_env = os.environ.get(f"MINGA_{name.upper()}")
    if from_env:
        return from_env.strip()
    path = secrets_dir(data_path) / name
    if not path.exists():
        return None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600 {path})")
    value = path.read_text(encoding="utf-8").strip()
    return value or None
