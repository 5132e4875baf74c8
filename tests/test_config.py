from __future__ import annotations

import os

import pytest

from minga import config
from minga.exceptions import ConfigError
from minga.keys.secrets import read_secret


def test_defaults_need_nothing(tmp_path):
    cfg = config.load(env={"MINGA_DATA_DIR": str(tmp_path)})
    assert cfg.database_url == ""
    assert cfg.port == 8000
    assert cfg.relay_url == "ws://127.0.0.1:8000/relay"
    assert 30024 in cfg.private_kinds


def test_precedence_default_toml_env_override(tmp_path):
    (tmp_path / "minga.toml").write_text('port = 9000\nlanguage = "en"\nrelay_name = "archivo"\n')
    env = {"MINGA_DATA_DIR": str(tmp_path), "MINGA_PORT": "9100"}
    cfg = config.load(env=env)
    assert cfg.port == 9100
    assert cfg.language == "en"
    assert cfg.relay_name == "archivo"
    assert config.load({"port": 9200}, env=env).port == 9200


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MINGA_PORT": "x"}, "setting port from MINGA_PORT"),
        ({"MINGA_LANGUAGE": "fr"}, "'es' or 'en'"),
        ({"MINGA_TIME_ZONE": "Marte/Olympus"}, "unknown time zone"),
        ({"MINGA_OPEN_WRITES": "quizás"}, "not a boolean"),
        ({"MINGA_DATABASE_URL": "mysql://x"}, "database_url"),
        ({"MINGA_PUBLIC_URL": "ftp://x"}, "http://"),
        ({"MINGA_DEFAULT_LIMIT": "5000"}, "default_limit must not exceed max_limit"),
        ({"MINGA_PRIVATE_KINDS": "1,99999"}, "kinds are 0..65535"),
    ],
)
def test_bad_values_name_the_setting(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        config.load(env={"MINGA_DATA_DIR": str(tmp_path), **env})


def test_unknown_toml_key_is_refused(tmp_path):
    (tmp_path / "minga.toml").write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        config.load(env={"MINGA_DATA_DIR": str(tmp_path)})


def test_broken_toml_is_refused(tmp_path):
    (tmp_path / "minga.toml").write_text("port = \n")
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(env={"MINGA_DATA_DIR": str(tmp_path)})


def test_public_url_sets_the_relay_scheme(tmp_path):
    cfg = config.load(
        {"public_url": "https://noticias.example/"}, env={"MINGA_DATA_DIR": str(tmp_path)}
    )
    assert cfg.relay_url == "wss://noticias.example/relay"


def test_secret_files_must_be_private(tmp_path, monkeypatch):
    monkeypatch.delenv("MINGA_VAULT_KEY", raising=False)
    first = read_secret("vault.key", "MINGA_VAULT_KEY", tmp_path, create=True)
    assert read_secret("vault.key", "MINGA_VAULT_KEY", tmp_path) == first
    path = tmp_path / "secrets" / "vault.key"
    assert path.stat().st_mode & 0o777 == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_secret("vault.key", "MINGA_VAULT_KEY", tmp_path)
    monkeypatch.setenv("MINGA_VAULT_KEY", "zz")
    with pytest.raises(ConfigError, match="64 hexadecimal"):
        read_secret("vault.key", "MINGA_VAULT_KEY", tmp_path)
    monkeypatch.delenv("MINGA_VAULT_KEY")
    with pytest.raises(ConfigError, match="run `minga init`"):
        read_secret("other.key", "MINGA_OTHER", tmp_path)
