"""Secrets live in a 0600 file of the worker's account: never in the `setting` table,
never printed by `crm config get`, moved out of old databases by a migration, and read by
the mail worker and the intake through one accessor."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from crm_tui.services import secrets, settings

SECRET = "s3cr3t-Marker-42"


def secrets_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "crm_tui" / "secrets.toml"


def setting_rows(key_like: str = "%") -> dict[str, str]:
    from crm_tui.models import Setting

    return {s.key: s.value for s in Setting.select().where(Setting.key ** key_like)}


def test_config_set_secret_goes_to_the_file_never_the_table(tmp_path, run_crm, data_dir):
    done = run_crm("config", "set", "mail.imap_password", SECRET)
    assert done.returncode == 0, done.stderr
    path = secrets_file(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert tomllib.loads(path.read_text())["mail"]["imap_password"] == SECRET
    assert SECRET.encode() not in (data_dir / "crm.sqlite3").read_bytes()
    wal = data_dir / "crm.sqlite3-wal"
    assert not wal.exists() or SECRET.encode() not in wal.read_bytes()

    one = run_crm("config", "get", "mail.imap_password")
    assert one.returncode == 0 and one.stdout.strip() == "(set)"
    every = run_crm("config", "get")
    assert SECRET not in every.stdout and SECRET not in every.stderr
    assert "mail.imap_password=(set)" in every.stdout
    assert "mail.smtp_password=(not set)" in every.stdout
    assert "intake.token=(not set)" in every.stdout
    # From stdin, kept off the command line; "" removes it again.
    piped = run_crm("config", "set", "intake.token", "-", input=SECRET + "-token\n")
    assert piped.returncode == 0, piped.stderr
    assert tomllib.loads(path.read_text())["intake"]["token"] == SECRET + "-token"
    assert run_crm("config", "set", "intake.token", "").returncode == 0
    assert "token" not in tomllib.loads(path.read_text()).get("intake", {})


@pytest.mark.usefixtures("any_db")
def test_secret_set_in_service_is_not_in_the_table(admin_session_factory, tmp_path):
    admin = admin_session_factory()
    settings.set_value(admin, "mail.smtp_password", SECRET)
    assert setting_rows("mail.%password") == {}
    assert settings.get(admin, "mail.smtp_password") == "(set)"
    assert SECRET not in settings.all_settings(admin).values()
    assert settings.raw_value("mail.smtp_password") == SECRET
    from crm_tui.services.mailing import mail_config

    settings.set_value(admin, "mail.smtp_host", "smtp.example")
    assert mail_config().smtp.password == SECRET


def test_secrets_file_named_by_the_system_config(tmp_path, admin, monkeypatch):
    target = tmp_path / "worker" / "secrets.toml"
    config_file = tmp_path / "etc" / "config.toml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f'secrets_file = "{target}"\n')
    monkeypatch.setenv("CRM_CONFIG", str(config_file))
    settings.set_value(admin, "intake.token", SECRET)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert secrets.get("intake.token") == SECRET
    assert not secrets_file(tmp_path).exists()


def test_unwritable_secrets_file_is_refused_and_said(tmp_path, admin, monkeypatch):
    from crm_tui.errors import PermissionDenied
    from crm_tui.services import forms

    target = tmp_path / "worker" / "secrets.toml"
    target.parent.mkdir()
    config_file = tmp_path / "etc" / "config.toml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f'secrets_file = "{target}"\n')
    monkeypatch.setenv("CRM_CONFIG", str(config_file))
    monkeypatch.setattr(secrets.os, "access", lambda path, mode: False)
    with pytest.raises(PermissionDenied, match="not writable"):
        settings.set_value(admin, "mail.imap_password", SECRET)
    fields = {f["key"]: f for f in forms.settings_form(admin)}
    assert "not writable" in fields["mail.imap_password"]["help"]
    with pytest.raises(forms.FormRejected) as caught:
        forms.submit_settings(admin, {"mail.imap_password": SECRET})
    assert "not writable" in caught.value.errors["mail.imap_password"]
    assert not target.exists()


def test_settings_form_masks_and_replaces_a_secret(admin, tmp_path):
    from crm_tui.services import forms

    settings.set_value(admin, "mail.imap_password", SECRET)
    fields = {f["key"]: f for f in forms.settings_form(admin)}
    assert fields["mail.imap_password"]["value"] == forms.SECRET_MASK
    assert fields["mail.smtp_password"]["value"] == ""
    assert str(secrets_file(tmp_path)) in fields["mail.imap_password"]["help"]
    # Unchanged mask: nothing written; a new value replaces the secret.
    assert forms.submit_settings(admin, {"mail.imap_password": forms.SECRET_MASK}) == []
    assert forms.submit_settings(admin, {"mail.imap_password": "new-one"}) == [
        "mail.imap_password"]
    assert secrets.get("mail.imap_password") == "new-one"


@pytest.mark.usefixtures("any_db")
def test_migration_moves_secrets_out_of_the_table(tmp_path, backend_url):
    from playhouse.migrations import Runner

    from crm_tui import schema
    from crm_tui.db import database
    from crm_tui.models import Setting

    runner = Runner(database.obj, directory=str(schema.MIGRATIONS_DIR),
                    table_name="schema_migration")
    runner.down("0013_secrets_out_of_database")
    Setting.update(value=SECRET).where(Setting.key == "mail.imap_password").execute()
    Setting.update(value=SECRET + "-t").where(Setting.key == "intake.token").execute()
    assert setting_rows("mail.imap_password") == {"mail.imap_password": SECRET}

    schema.upgrade()
    assert setting_rows("mail.%password") == {} and setting_rows("intake.%") == {}
    path = secrets_file(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = tomllib.loads(path.read_text())
    assert stored["mail"]["imap_password"] == SECRET
    assert stored["intake"]["token"] == SECRET + "-t"
    assert "smtp_password" not in stored["mail"]
