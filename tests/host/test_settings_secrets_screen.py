"""The settings screen shows a secret masked, says where it is kept, and replaces it only
when this account may write the secrets file."""

from __future__ import annotations

import os

from textual.widgets import Input

from crm_tui.models import Setting
from crm_tui.services import secrets, settings
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text


def shown_text(app) -> str:
    """The labels and hints on screen, as the user reads them."""
    return " ".join(str(w.content) for w in app.screen.query("Label, .form-help"))


async def _focus_smtp_password(pilot, app) -> Input:
    await press(pilot, "8")
    await press(pilot, "right", "right")  # the tab row: Invoices, Lead statuses, Mail
    await settle(pilot)
    for _ in range(12):
        focused = app.focused
        if isinstance(focused, Input) and focused.password:
            return focused
        await press(pilot, "tab")
    raise AssertionError(f"no password field reached (focus on {app.focused!r})")


async def test_secret_is_masked_and_replaced_into_the_secrets_file(world, tmp_path):
    settings.set_value(world.session("admin"), "mail.smtp_password", "old-secret")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        field = await _focus_smtp_password(pilot, app)
        assert field.value != "old-secret" and field.password
        screen_text = shown_text(app)
        assert "old-secret" not in screen_text
        assert str(secrets.secrets_path()) in screen_text
        await press(pilot, "ctrl+u")
        await type_text(pilot, "new-secret")
        await press(pilot, "ctrl+s")
        assert app.said("Saved 1 setting(s): mail.smtp_password"), app.notes
    assert secrets.get("mail.smtp_password") == "new-secret"
    assert Setting.get_or_none(Setting.key == "mail.smtp_password") is None
    assert os.stat(secrets.secrets_path()).st_mode & 0o777 == 0o600


async def test_secret_cannot_be_replaced_when_the_file_is_not_writable(world, tmp_path,
                                                                       monkeypatch):
    target = tmp_path / "worker" / "secrets.toml"
    target.parent.mkdir()
    config_file = tmp_path / "etc" / "config.toml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f'secrets_file = "{target}"\n')
    monkeypatch.setenv("CRM_CONFIG", str(config_file))
    os.chmod(target.parent, 0o500)  # not writable by its owner either
    real_access = os.access
    # Root may write anywhere: the check is made to see the directory as its mode says.
    monkeypatch.setattr(secrets.os, "access", lambda path, mode: (
        False if str(path).startswith(str(target.parent)) and mode & os.W_OK
        else real_access(path, mode)))
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _focus_smtp_password(pilot, app)
        screen_text = shown_text(app)
        assert "read only here" in screen_text and "not writable" in screen_text
        await type_text(pilot, "attempt")
        await press(pilot, "ctrl+s")
        [form] = [f for f in app.screen.query(".settings-form")
                  if "mail.smtp_password" in f.values()]
        assert "not writable" in form.errors.get("mail.smtp_password", "")
    assert not target.exists()
