"""Contract types and their custom fields, each with the id templates know it by."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.i18n import _
from crm_tui.services import catalogue, contracts, forms
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service

FIELD_KINDS = ["text", "textarea", "numeric", "date", "checkbox", "combo", "linked"]


class ContractTypesModal(Dialog[None]):
    """Pick a type to see its fields (`_custom_<id>_` macros); add types and fields."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id=keymap.BACK_ID, tooltip="Back to the contracts"),
        Binding("n", "new_type", "New type", id=keymap.NEW_ID, tooltip="Create a contract type"),
        Binding("f", "new_field", "New field", id="types.field",
                tooltip="Add a custom field to the highlighted type"),
        Binding("d", "delete_type", "Delete", id=keymap.DELETE_ID,
                tooltip="Delete the highlighted type (asks, saying what uses it)"),
    ]
    """Escape closes; n and f add, d deletes (with CM)."""

    DEFAULT_CSS = """
    ContractTypesModal {
        align: center middle;
        & > #dialog {
            width: 76;
            max-width: 100%;
            height: 90%;
            border: thick $primary 60%;
            background: $surface;
            & > #types-title {
                text-style: bold;
                padding: 0 1;
                width: 100%;
                background: $panel;
            }
            & > OptionList {
                height: 8;
            }
            & > #fields {
                height: 1fr;
                padding: 0 1;
            }
        }
    }
    """

    def __init__(self, session: Session) -> None:
        """Create the dialog for the acting user."""
        super().__init__()
        self.session = session
        self.types: list[dict[str, Any]] = []
        self.can_manage: bool | None = None

    def compose(self) -> ComposeResult:
        """The type list and the highlighted type's fields."""
        with Vertical(id="dialog"):
            yield Label(_("Contract types"), id="types-title")
            yield OptionList(id="types")
            with VerticalScroll(id="fields"):
                yield Static(_("Loading…"), id="fields-text", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Read the types and whether the user may change them."""
        self.reload()
        run_service(self, forms.permissions, self.session, "contract-type",
                    done=self._permissions, group="types.permissions")

    def _permissions(self, permissions: dict[str, bool]) -> None:
        self.can_manage = permissions.get("create", False)
        self.refresh_bindings()

    def reload(self, select: int | None = None) -> None:
        """Read the types and their fields again."""
        run_service(self, contracts.contract_types, self.session,
                    done=lambda types: self._show(types, select), group="types.load")

    def _show(self, types: list[dict[str, Any]], select: int | None) -> None:
        self.types = types
        options = self.query_one("#types", OptionList)
        options.clear_options()
        options.add_options([Option(_("{name}  (#{id}, {count} fields)").format(name=t["name"], id=t["id"], count=len(t["fields"])),
                                    id=str(t["id"])) for t in types])
        index = next((n for n, t in enumerate(types) if t["id"] == select), 0)
        if types:
            options.highlighted = index
            self._describe(index)
        options.focus()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._describe(event.option_index)

    def _describe(self, index: int) -> None:
        if not 0 <= index < len(self.types):
            return
        ctype = self.types[index]
        lines = [ctype["description"] or _("(no description)"), ""]
        if ctype["fields"]:
            lines.append(_("Id   Macro            Field (kind)"))
            lines += [f"{f['id']:<4} {f['macro']:<16} {f['name']} ({f['kind']})"
                      for f in ctype["fields"]]
        else:
            lines.append(_("No custom fields. Press f to add one."))
        self.query_one("#fields-text", Static).update("\n".join(lines))

    def _current(self) -> dict[str, Any] | None:
        index = self.query_one("#types", OptionList).highlighted
        return self.types[index] if index is not None and index < len(self.types) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Adding takes the right to manage catalogues (CM)."""
        if action in ("new_type", "new_field", "delete_type"):
            if self.can_manage is False:
                return False
            return None if not self.can_manage or (action != "new_type"
                                                    and self._current() is None) else True
        return True

    def action_close(self) -> None:
        """Back to the contracts."""
        self.dismiss(None)

    def action_new_type(self) -> None:
        """Create a contract type."""
        from screens.modals.record_form import RecordFormModal

        self.app.push_screen(RecordFormModal(self.session, "contract-type", None),
                             lambda new_id: self.reload(new_id) if new_id else None)

    def action_new_field(self) -> None:
        """Add a custom field to the highlighted type."""
        from screens.modals.service_form import ServiceFormModal, field

        ctype = self._current()
        if ctype is None:
            return
        session, type_id = self.session, ctype["id"]
        fields = [field("name", _("Name"), required=True),
                  field("kind", _("Kind"), "text", kind="combo", options=FIELD_KINDS,
                        required=True),
                  field("options", _("Options"), kind="textarea",
                        help=_('combo: a, b, c; linked: {"parent": ["child"]}'))]
        self.app.push_screen(ServiceFormModal(
            _("New field of {name}").format(name=ctype['name']), fields,
            lambda values: contracts.add_type_field(session, type_id, values)),
            lambda new_id: self.reload(type_id) if new_id else None)

    def action_delete_type(self) -> None:
        """Ask (saying what uses the type), then delete it."""
        ctype = self._current()
        if ctype is None:
            return
        run_service(self, catalogue.usage_note, self.session, "contract-type", ctype["id"],
                    done=lambda note: confirm_catalogue_delete(
                        self, "contract-type", ctype["id"], f"contract type {ctype['name']!r}",
                        note, self.reload),
                    group="types.delete")


def confirm_catalogue_delete(node: Any, kind: str, record_id: int, title: str, note: str,
                             deleted: Any) -> None:
    """Ask whether to delete a catalogue entry, with what uses it (`note`), then delete it.

    Answering yes confirms deleting an entry in use (for a superadmin); for others the
    services still refuse an entry that records they may not see or change use.
    """
    from crm_tui.services.records import get_kind
    from screens.modals.confirm import ConfirmModal

    def confirmed(yes: bool | None) -> None:
        if yes:
            run_service(node, _delete_entry, get_kind(kind), node.session, record_id,
                        done=lambda _: deleted(), group=f"{kind}.delete")

    node.app.push_screen(ConfirmModal(_("Delete {title}?").format(title=title), note), confirmed)


def _delete_entry(target: Any, session: Session, record_id: int) -> None:
    target.delete(session, record_id, force=True)
