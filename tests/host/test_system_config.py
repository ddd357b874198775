"""The system config file: where it is, what it overrides, and a bad one as one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_tui import config, paths
from crm_tui.errors import ValidationFailed


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_file_means_the_platform_default(system_config, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert not Path(system_config).exists()
    assert paths.data_dir_path() == tmp_path / "xdg" / "crm_tui"
    assert paths.database_target() == str(tmp_path / "xdg" / "crm_tui" / "crm.sqlite3")


def test_precedence_explicit_then_env_then_config(system_config, monkeypatch, tmp_path):
    shared = tmp_path / "shared"
    write(Path(system_config), f'data_dir = "{shared}"\n')
    assert paths.data_dir() == shared
    assert paths.database_target() == str(shared / "crm.sqlite3")

    write(Path(system_config), f'data_dir = "{shared}"\n'
                               'database = "postgresql://crm@db.example/crm"\n')
    assert paths.database_target() == "postgresql://crm@db.example/crm"
    # CRM_DATA_DIR beats the config (database and data dir alike) ...
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "mine"))
    assert paths.data_dir() == tmp_path / "mine"
    assert paths.database_target() == str(tmp_path / "mine" / "crm.sqlite3")
    # ... CRM_DB beats both, and --db beats everything.
    monkeypatch.setenv("CRM_DB", "/tmp/other.sqlite3")
    assert paths.database_target() == "/tmp/other.sqlite3"
    assert paths.database_target("/tmp/explicit.sqlite3") == "/tmp/explicit.sqlite3"


def test_config_is_read_again_when_it_changes(system_config, tmp_path):
    write(Path(system_config), f'data_dir = "{tmp_path / "a"}"\n')
    assert config.load().data_dir == tmp_path / "a"
    write(Path(system_config), f'data_dir = "{tmp_path / "b"}"\nshared = true\n')
    os.utime(system_config, (1, 1))  # a different mtime, however fast the rewrite was
    loaded = config.load()
    assert loaded.data_dir == tmp_path / "b" and loaded.shared


@pytest.mark.parametrize(("text", "key", "reason"), [
    ('data_dir = "relative/dir"\n', "data_dir", "absolute directory path"),
    ('shared = "yes"\n', "shared", "true or false"),
    ('database = "mysql://x/y"\n', "database", "postgresql://"),
    ('datadir = "/srv/crm"\n', "datadir", "unknown key"),
    ('group = "bad group!"\n', "group", "group name"),
    ("data_dir = \n", "file", "not valid TOML"),
])
def test_bad_config_is_one_line_naming_key_and_value(system_config, text, key, reason):
    write(Path(system_config), text)
    with pytest.raises(ValidationFailed) as caught:
        config.load()
    message = str(caught.value)
    assert str(system_config) in message and f"field {key}" in message and reason in message


def test_bad_config_through_crm_exits_1_without_traceback(system_config):
    write(Path(system_config), "shared = maybe\n")
    done = subprocess.run([sys.executable, "-m", "crm_tui", "list", "company"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert str(system_config) in lines[0] and "not valid TOML" in lines[0]


def test_config_of_a_shared_dir_is_followed_by_crm(system_config, tmp_path):
    shared = tmp_path / "team"
    write(Path(system_config), f'data_dir = "{shared}"\nshared = true\n')
    done = subprocess.run([sys.executable, "-m", "crm_tui", "add", "company", "name=Team"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert done.returncode == 0, done.stderr
    assert (shared / "crm.sqlite3").is_file()
    # shared = true: a data dir made on first use is the group's, and so is the database.
    assert os.stat(shared).st_mode & 0o7777 == 0o2770
    assert os.stat(shared / "crm.sqlite3").st_mode & 0o777 == 0o660
