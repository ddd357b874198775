"""Screen 8: every business setting, one tab per area; only superadmins change them."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, TabbedContent, TabPane

from crm_tui.errors import error_text
from crm_tui.i18n import N_, _
from crm_tui.services import forms
from crm_tui.services.context import Session
from screens.crm_screen import CrmScreen
from screens.form_specs import specs_from
from widgets.field_form import FieldForm


def load_settings(session: Session) -> tuple[list[dict[str, Any]], bool]:
    """The settings form and whether the user may change it (one thread trip)."""
    return forms.settings_form(session), forms.can_change_settings(session)


def _pane_id(section: str) -> str:
    return "settings-" + "".join(c if c.isalnum() else "-" for c in section.lower())


class SettingsScreen(CrmScreen):
    """The settings keys of `crm config`, a tab per area: ctrl+s saves the tab, escape
    reverts it. A tab's form is built when the tab is first shown."""

    SCREEN_TITLE = N_("8 Settings")

    DEFAULT_CSS = """
    SettingsScreen {
        & #settings {
            height: 1fr;
        }
        & #settings-note {
            color: $text-muted;
            padding: 0 1;
            width: 100%;
        }
        & #settings-note.-readonly {
            color: $warning;
        }
        & TabbedContent {
            height: 1fr;
        }
        & TabPane {
            padding: 0;
        }
    }
    """

    def __init__(self, session: Session, **kwargs: Any) -> None:
        """Create the screen; the settings are read once it is mounted."""
        super().__init__(session, **kwargs)
        self.sections: dict[str, list[dict[str, Any]]] = {}
        self.may_change = False

    def compose_body(self) -> ComposeResult:
        """A note and a tab per area (filled once the settings are read)."""
        with Vertical(id="settings"):
            yield Label(_("Loading…"), id="settings-note")
            with TabbedContent(id="settings-tabs"):
                for _prefix, title in forms.SETTING_SECTIONS:
                    yield TabPane(_(title), id=_pane_id(title))

    def on_mount(self) -> None:
        """Read the settings."""
        self.reload()

    def reload(self) -> None:
        """Read the settings again (discarding unsaved edits)."""
        self.call_service(load_settings, self.session, done=self._show, group="settings.load",
                          exclusive=True)

    def _show(self, loaded: tuple[list[dict[str, Any]], bool]) -> None:
        descriptions, self.may_change = loaded
        note = self.query_one("#settings-note", Label)
        if self.may_change:
            note.update(_("ctrl+s saves this tab's changed keys (all or none) · escape reverts"))
        else:
            note.update(_("Read only: only superadmins change settings."))
        note.set_class(not self.may_change, "-readonly")
        self.sections = {}
        for description in descriptions:
            self.sections.setdefault(description["section"], []).append(
                {**description, "section": ""})
        for old in self.query(FieldForm):
            old.remove()
        self.call_after_refresh(self._fill_active)

    @on(TabbedContent.TabActivated, "#settings-tabs")
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        self._fill_active()

    def _fill_active(self) -> None:
        tabs = self.query("#settings-tabs").results(TabbedContent)
        tab = next(iter(tabs), None)
        if tab is None or not tab.active:
            return
        pane = tab.get_pane(tab.active)
        if pane.query(FieldForm):
            return
        section = next((s for s in self.sections if _pane_id(s) == tab.active), None)
        if section is None:
            return
        form = FieldForm(specs_from(self.sections[section], self.session),
                         classes="settings-form", disabled=not self.may_change,
                         prompt=_("Select"), type_hint=_("type to search"),
                         nothing_found=_("(no match)"))
        pane.mount(form)

    @on(FieldForm.Submitted, ".settings-form")
    def _save(self, event: FieldForm.Submitted) -> None:
        event.stop()
        form = event.form
        self.call_service(forms.submit_settings, self.session, event.values,
                          done=lambda keys: self._saved(form, keys),
                          failed=lambda error: self._refused(form, error),
                          group="settings.save")

    def _saved(self, form: FieldForm, keys: list[str]) -> None:
        if keys:
            self.notify(_("Saved {count} setting(s): {keys}").format(
                count=len(keys), keys=", ".join(keys)))
        else:
            self.notify(_("Nothing changed"))
        form.clear_errors()
        # What was saved is what the next comparison starts from.
        self.call_service(load_settings, self.session, done=self._remember,
                          group="settings.load", exclusive=True)

    def _remember(self, loaded: tuple[list[dict[str, Any]], bool]) -> None:
        descriptions, self.may_change = loaded
        for description in descriptions:
            items = self.sections.setdefault(description["section"], [])
            for item in items:
                if item["key"] == description["key"]:
                    item["value"] = description["value"]

    def _refused(self, form: FieldForm, error: BaseException) -> None:
        if isinstance(error, forms.FormRejected):
            form.show_errors(error.errors)
        else:
            form.show_errors({"": error_text(error)})

    @on(FieldForm.Cancelled, ".settings-form")
    def _revert(self, event: FieldForm.Cancelled) -> None:
        event.stop()
        self.reload()
        self.notify(_("Changes discarded"))
