"""Changing one's own password in the TUI: the palette's "Change password…" dialog, by keys."""

from __future__ import annotations

from textual.widgets import Input, Label

from crm_tui.models import User
from crm_tui.services.users import check_password
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text


def _stored(login: str) -> str:
    return User.select(User.password_hash).where(User.login == login).scalar()


def _note(app) -> str:
    return str(app.screen.query_one("#password-note", Label).content)


async def _open_dialog(pilot) -> None:
    await press(pilot, "ctrl+p")
    await type_text(pilot, "change password")
    await pilot.pause(0.3)
    await press(pilot, "enter")
    await settle(pilot)


async def test_change_password_dialog_checks_and_changes(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _open_dialog(pilot)
        assert type(app.screen).__name__ == "ChangePasswordModal"
        # user1 has a password: the dialog asks the current one first.
        assert app.screen.query_one("#row-current").display
        assert app.focused is app.screen.query_one("#current", Input)
        # The two new ones differ: nothing changes, the dialog says why.
        await type_text(pilot, "user1-pw")
        await press(pilot, "enter")
        await type_text(pilot, "new-secret-1")
        await press(pilot, "enter")
        await type_text(pilot, "new-secret-2")
        await press(pilot, "enter")
        assert "differ" in _note(app)
        assert app.focused is app.screen.query_one("#repeat", Input)
        # A wrong current password: refused by the service, shown in the dialog.
        app.screen.query_one("#current", Input).value = ""
        app.screen.query_one("#current", Input).focus()
        await type_text(pilot, "not-mine")
        app.screen.query_one("#repeat", Input).focus()
        await type_text(pilot, "new-secret-1")
        await press(pilot, "ctrl+s")
        assert type(app.screen).__name__ == "ChangePasswordModal"
        assert "wrong current password" in _note(app)
        assert check_password(_stored("user1"), "user1-pw")
        # The right one: the dialog closes and the new password is the stored one.
        app.screen.query_one("#current", Input).value = ""
        app.screen.query_one("#current", Input).focus()
        await type_text(pilot, "user1-pw")
        await press(pilot, "ctrl+s")
        assert type(app.screen).__name__ != "ChangePasswordModal"
        assert app.said("Password changed")
    assert check_password(_stored("user1"), "new-secret-1")
    assert not check_password(_stored("user1"), "user1-pw")


async def test_a_user_without_a_password_sets_one_and_a_short_one_is_refused(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _open_dialog(pilot)
        assert not app.screen.query_one("#row-current").display
        assert app.focused is app.screen.query_one("#new", Input)
        await type_text(pilot, "abc")
        await press(pilot, "enter")
        await type_text(pilot, "abc")
        await press(pilot, "enter")
        assert "at least 8 characters" in _note(app)
        assert _stored("admin") == ""
        await press(pilot, "escape")
        assert type(app.screen).__name__ != "ChangePasswordModal"
        await _open_dialog(pilot)
        await type_text(pilot, "admin-pass-1")
        await press(pilot, "enter")
        await type_text(pilot, "admin-pass-1")
        await press(pilot, "enter")
        assert type(app.screen).__name__ != "ChangePasswordModal"
    assert check_password(_stored("admin"), "admin-pass-1")
