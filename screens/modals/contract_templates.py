"""Contract templates: the list, and an editor for their HTML with macros."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from crm_tui.errors import CrmError, error_text
from crm_tui.i18n import N_, _
from crm_tui.services import contracts, forms
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service

MACRO_HELP = N_("Macros: _name_contract_ _contract_number_ _date_begin_ _date_end_ "
              "_company_name_ _company_fiscal_id_ … _custom_ID_ (see y: types)")


class ContractTemplatesModal(Dialog[None]):
    """The templates; n new, e (or enter) edit, d delete."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id=keymap.BACK_ID,
                tooltip="Back to the contracts"),
        Binding("n", "new_template", "New", id=keymap.NEW_ID, tooltip="Write a new template"),
        Binding("e", "edit_template", "Edit", id=keymap.EDIT_ID,
                tooltip="Edit the highlighted template"),
        Binding("d", "delete_template", "Delete", id=keymap.DELETE_ID,
                tooltip="Delete the highlighted template (asks first)"),
    ]
    """Escape closes; n, e and d change templates (with CM)."""

    DEFAULT_CSS = """
    ContractTemplatesModal {
        align: center middle;
        & > #dialog {
            width: 76;
            max-width: 100%;
            height: 80%;
            border: thick $primary 60%;
            background: $surface;
            & > #templates-title {
                text-style: bold;
                padding: 0 1;
                width: 100%;
                background: $panel;
            }
            & > OptionList {
                height: 1fr;
            }
        }
    }
    """

    def __init__(self, session: Session) -> None:
        """Create the dialog for the acting user."""
        super().__init__()
        self.session = session
        self.templates: list[dict[str, Any]] = []
        self.can_manage: bool | None = None

    def compose(self) -> ComposeResult:
        """The list of templates."""
        with Vertical(id="dialog"):
            yield Label(_("Contract templates"), id="templates-title")
            yield OptionList(id="templates")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Read the templates and whether the user may change them."""
        self.reload()
        run_service(self, forms.permissions, self.session, "template",
                    done=self._permissions, group="templates.permissions")

    def _permissions(self, permissions: dict[str, bool]) -> None:
        self.can_manage = permissions.get("create", False)
        self.refresh_bindings()

    def reload(self) -> None:
        """Read the templates again."""
        run_service(self, contracts.templates, self.session, done=self._show,
                    group="templates.load")

    def _show(self, templates: list[dict[str, Any]]) -> None:
        self.templates = templates
        options = self.query_one("#templates", OptionList)
        options.clear_options()
        options.add_options([
            Option(f"{t['name']}" + (f" — {t['description']}" if t["description"] else ""),
                   id=str(t["id"])) for t in templates])
        if templates:
            options.highlighted = 0
        options.focus()
        self.refresh_bindings()

    def _current(self) -> dict[str, Any] | None:
        index = self.query_one("#templates", OptionList).highlighted
        return self.templates[index] if index is not None and index < len(self.templates) \
            else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Changing templates takes the right to manage catalogues (CM)."""
        if action in ("new_template", "edit_template", "delete_template"):
            if self.can_manage is False:
                return False
            if not self.can_manage:
                return None
            if action != "new_template" and self._current() is None:
                return None
        return True

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if self.can_manage:
            self.action_edit_template()

    def action_close(self) -> None:
        """Back to the contracts."""
        self.dismiss(None)

    def action_new_template(self) -> None:
        """Write a new template, starting from the shipped one."""
        self.app.push_screen(TemplateEditorModal(self.session, None), self._saved)

    def action_edit_template(self) -> None:
        """Edit the highlighted template."""
        current = self._current()
        if current is not None:
            self.app.push_screen(TemplateEditorModal(self.session, current["id"]), self._saved)

    def _saved(self, template_id: int | None) -> None:
        if template_id is not None:
            self.notify(_("Template saved"))
            self.reload()

    def action_delete_template(self) -> None:
        """Ask (saying what uses the template), then delete the highlighted template."""
        from crm_tui.services import catalogue
        from screens.modals.contract_types import confirm_catalogue_delete

        current = self._current()
        if current is None:
            return
        run_service(self, catalogue.usage_note, self.session, "template", current["id"],
                    done=lambda note: confirm_catalogue_delete(
                        self, "template", current["id"], f"template {current['name']!r}",
                        note, self.reload),
                    group="templates.delete")


def load_template(session: Session, template_id: int | None) -> dict[str, str]:
    """The template's fields as text (a new one starts from the shipped body)."""
    if template_id is None:
        return {"name": "", "description": "", "body": contracts.default_template_body()}
    return forms.current_values(session, "template", template_id)


class TemplateEditorModal(Dialog[int | None]):
    """Name, description and the HTML body; ctrl+s saves (the services check every macro
    and that the HTML can be rendered), ctrl+r puts the shipped template back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id=keymap.SAVE_ID, tooltip="Check and save"),
        Binding("ctrl+r", "reset_body", "Default body", id="template.reset",
                tooltip="Replace the body with the template that ships with the CRM"),
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID,
                tooltip="Close without saving"),
    ]
    """Save, reset to the shipped body, cancel."""

    DEFAULT_CSS = """
    TemplateEditorModal {
        align: center middle;
        & > #dialog {
            width: 100%;
            height: 100%;
            background: $surface;
            & > #editor-title {
                text-style: bold;
                padding: 0 1;
                width: 100%;
                background: $panel;
            }
            & .editor-row {
                height: auto;
                & > Label {
                    width: 14;
                    padding: 1 1 0 1;
                    color: $text-muted;
                }
                & > Input {
                    width: 1fr;
                }
            }
            & > TextArea {
                height: 1fr;
            }
            & > #editor-help {
                color: $text-muted;
                padding: 0 1;
            }
            & > #editor-error {
                color: $error;
                padding: 0 1;
                display: none;
                &.-shown {
                    display: block;
                }
            }
        }
    }
    """

    def __init__(self, session: Session, template_id: int | None) -> None:
        """Create the editor for a template (None: a new one)."""
        super().__init__()
        self.session = session
        self.template_id = template_id
        self._saving = False

    def compose(self) -> ComposeResult:
        """Name, description, body, a line of help and the error line."""
        title = _("New template") if self.template_id is None else _("Template #{template_id}").format(template_id=self.template_id)
        with Vertical(id="dialog"):
            yield Label(title, id="editor-title", markup=False)
            with Horizontal(classes="editor-row"):
                yield Label(_("Name"))
                yield Input(id="name")
            with Horizontal(classes="editor-row"):
                yield Label(_("Description"))
                yield Input(id="description")
            yield TextArea(id="body", language="html", soft_wrap=True, show_line_numbers=False)
            yield Static(_(MACRO_HELP), id="editor-help", markup=False)
            yield Static("", id="editor-error", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Read the template."""
        run_service(self, load_template, self.session, self.template_id, done=self._fill,
                    failed=self._cannot_open, group="template.load")

    def _fill(self, values: dict[str, str]) -> None:
        self.query_one("#name", Input).value = values.get("name", "")
        self.query_one("#description", Input).value = values.get("description", "")
        self.query_one("#body", TextArea).text = values.get("body", "")
        self.query_one("#name", Input).focus()

    def _cannot_open(self, error: BaseException) -> None:
        self.notify(error_text(error), severity="error", timeout=8)
        self.dismiss(None)

    def values(self) -> dict[str, str]:
        """What the editor holds now."""
        return {"name": self.query_one("#name", Input).value,
                "description": self.query_one("#description", Input).value,
                "body": self.query_one("#body", TextArea).text}

    def action_save(self) -> None:
        """Check and save the template (on a thread)."""
        if self._saving:
            return
        self._saving = True
        run_service(self, forms.submit, self.session, "template", self.template_id,
                    self.values(), done=self._saved, failed=self._refused,
                    group="template.save")

    def _saved(self, template_id: int) -> None:
        self._saving = False
        self.dismiss(template_id)

    def _refused(self, error: BaseException) -> None:
        self._saving = False
        if isinstance(error, forms.FormRejected):
            text = "; ".join(f"{key}: {message}" if key else message
                             for key, message in error.errors.items())
        elif isinstance(error, CrmError):
            text = str(error)
        else:
            text = error_text(error)
        line = self.query_one("#editor-error", Static)
        line.update(text)
        line.add_class("-shown")

    def action_reset_body(self) -> None:
        """Put the shipped template's body in the editor (saved only with ctrl+s)."""
        self.query_one("#body", TextArea).text = contracts.default_template_body()

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
