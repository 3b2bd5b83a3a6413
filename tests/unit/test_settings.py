"""Config: keys, both spellings, precedence, override(), unknown keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datajoint_core.errors import ConfigError
from datajoint_core.settings import DEFAULTS, Config, create_config


def test_defaults_and_both_spellings() -> None:
    config = Config(environ={})
    assert config["database.host"] == "localhost"
    assert config.database.host == "localhost"
    assert config.safemode is True
    assert config.display.limit == 12
    config.display.limit = 25
    assert config["display.limit"] == 25
    config["database.port"] = "3307"
    assert config.database.port == 3307


def test_default_port_follows_backend() -> None:
    """As the reference: an unset port takes the backend's default when the config is made (or
    the port is set to None); a later change of backend keeps the port."""
    config = Config(environ={})
    assert config["database.port"] == config.port == 3306
    assert Config(environ={"DJ_BACKEND": "postgresql"})["database.port"] == 5432
    config["database.backend"] = "postgres"
    assert config["database.backend"] == "postgresql"
    assert config.port == 3306
    config["database.port"] = None
    assert config.port == 5432


def test_unknown_keys_raise() -> None:
    config = Config()
    with pytest.raises(ConfigError, match="unknown config key 'database.hots'"):
        config["database.hots"] = "x"
    with pytest.raises(ConfigError, match="unknown config key"):
        _ = config.nonsense
    with pytest.raises(ConfigError, match="unknown config key 'safe_mode'"):
        config.update({"safe_mode": False})


def test_invalid_values_raise() -> None:
    config = Config()
    with pytest.raises(ConfigError, match="integer"):
        config["display.limit"] = "many"
    with pytest.raises(ConfigError, match="true or false"):
        config["safemode"] = "perhaps"
    with pytest.raises(ConfigError, match="backend"):
        config["database.backend"] = "oracle"


def test_precedence_file_environment_assignment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "datajoint.json").write_text(
        json.dumps({"database": {"host": "file-host", "user": "file-user"}, "safemode": False})
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)  # the file is found from a subdirectory
    env = {"DJ_HOST": "env-host", "DJ_PORT": "4000", "DJ_THREAD_SAFE": "false"}
    config = create_config(environ=env)
    assert config["database.host"] == "env-host"  # environment beats the file
    assert config["database.user"] == "file-user"  # the file beats the defaults
    assert config["database.port"] == 4000
    assert config["safemode"] is False
    config["database.host"] = "set-host"  # assignment beats the environment
    assert config["database.host"] == "set-host"


def test_every_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "DJ_HOST": "h",
        "DJ_USER": "u",
        "DJ_PASS": "p",
        "DJ_PORT": "1",
        "DJ_BACKEND": "postgresql",
        "DJ_USE_TLS": "true",
        "DJ_DATABASE_NAME": "d",
        "DJ_LOG_LEVEL": "DEBUG",
    }
    config = create_config(environ=env)
    assert [config[k] for k in ("database.host", "database.user", "database.password")] == [
        "h",
        "u",
        "p",
    ]
    assert config["database.port"] == 1
    assert config["database.backend"] == "postgresql"
    assert config["database.use_tls"] is True
    assert config["database.name"] == "d"
    assert config["loglevel"] == "DEBUG"


def test_override_is_temporary_and_nested() -> None:
    config = Config()
    with config.override(safemode=False, display__limit=3, database__reconnect=False):
        assert config.safemode is False
        assert config.display.limit == 3
        assert config.database.reconnect is False
    assert config.safemode is True
    assert config.display.limit == 12
    assert config.database.reconnect is True


def test_override_restores_after_error() -> None:
    config = Config()
    with pytest.raises(ConfigError), config.override(safemode=False, bogus=1):
        pass
    assert config.safemode is True


def test_password_hidden_in_repr() -> None:
    config = Config({"database.password": "hunter2"})
    assert "hunter2" not in repr(config)
    assert config["database.password"] == "hunter2"


def test_copy_is_independent() -> None:
    a = Config()
    b = a.copy()
    b.safemode = False
    assert a.safemode is True
    assert set(a) == set(DEFAULTS)
