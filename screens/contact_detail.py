"""One contact: its fields and custom-field sections, with the keys to edit, delete and merge
it, and its history (H)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Label, TabbedContent, TabPane

from crm_tui.i18n import N_, _, kind_name
from crm_tui.services import forms
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind
from screens import keymap
from screens.detail import DetailScreen, detail_block
from screens.refusals import permission_refusal


def load_contact(session: Session, contact_id: int) -> dict[str, Any]:
    """What the detail screen shows, read in one go on a thread."""
    return {"fields": forms.display(session, "contact", contact_id),
            "permissions": forms.permissions(session, "contact", contact_id)}


class ContactDetailScreen(DetailScreen):
    """A contact's detail: its fields by section; e edits, d deletes, M merges a duplicate
    into it, H shows who changed what."""

    SCREEN_TITLE = N_("2 Contact")

    record_kind = "contact"
    record_id_attr = "contact_id"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_contact", "Edit", id=keymap.EDIT_ID, tooltip="Edit this contact"),
        Binding("d", "delete_contact", "Delete", id=keymap.DELETE_ID,
                tooltip="Delete this contact (asks first)"),
        Binding("M", "merge_contact", "Merge", id=keymap.MERGE_ID,
                tooltip="Merge a duplicate contact into this one"),
        Binding("H", "show_history", "History", id=keymap.HISTORY_ID,
                tooltip="Who changed what, and when"),
    ]
    """Edit, delete, merge and history; each greyed when the services say no."""

    def __init__(self, session: Session, contact_id: int, *,
                 on_change: Callable[[], Any] | None = None) -> None:
        """Create the screen for one contact.

        Args:
            session: The acting user.
            contact_id: The contact shown.
            on_change: Called after the contact was changed, merged or deleted here.
        """
        super().__init__(session)
        self.contact_id = contact_id
        self.on_change = on_change
        self.contact_name = ""
        self.permissions: dict[str, bool] | None = None

    def compose_body(self) -> ComposeResult:
        """One tab: the details."""
        with TabbedContent(initial="tab-details"):
            with TabPane(_("Details"), id="tab-details"):
                with VerticalScroll(id="details"):
                    yield Label(_("Loading…"), classes="placeholder")

    def screen_title(self) -> str:
        """The contact's name once known."""
        return (_("2 Contact · {name}").format(name=self.contact_name) if self.contact_name
                else _(self.SCREEN_TITLE))

    def on_mount(self) -> None:
        """Read the contact."""
        self.reload()

    def read_data(self) -> dict[str, Any]:
        """Read the contact and what the user may do with it (on a thread)."""
        return load_contact(self.session, self.contact_id)

    def show_data(self, data: dict[str, Any]) -> None:
        """Show what `read_data` returned."""
        fields: list[dict[str, str]] = data["fields"]
        self.permissions = data["permissions"]
        self.contact_name = next((f["text"] for f in fields if f["key"] == "full_name"), "")
        self.set_title(self.screen_title())
        sections: dict[str, list[dict[str, str]]] = {}
        for field in fields:
            sections.setdefault(field["section"] or _("Contact"), []).append(field)
        box = self.query_one("#details", VerticalScroll)
        box.remove_children()
        box.mount_all([detail_block(title, [(_(i["label"]), i["text"]) for i in items])
                       for title, items in sections.items()])
        self.refresh_bindings()

    # -- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey edit, delete and merge unless the services allow them."""
        permissions = self.permissions
        if action in ("edit_contact", "merge_contact"):
            return None if permissions is None or not permissions.get("edit") else True
        if action == "delete_contact":
            return None if permissions is None or not permissions.get("delete") else True
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Edit, merge and delete on a contact the user may not change."""
        return permission_refusal(self.permissions, action,
                                  self.contact_name or f"#{self.contact_id}",
                                  ("edit_contact", "merge_contact"), ("delete_contact",))

    def _changed(self) -> None:
        self.reload()
        if self.on_change is not None:
            self.on_change()

    def action_edit_contact(self) -> None:
        """Edit this contact."""
        from screens.modals.record_form import RecordFormModal

        def saved(result: int | None) -> None:
            if result is not None:
                self.notify(_("Saved {name}").format(
                    name=self.contact_name or kind_name("contact")))
                self._changed()

        self.app.push_screen(RecordFormModal(self.session, "contact", self.contact_id), saved)

    def action_delete_contact(self) -> None:
        """Ask, then delete this contact and go back."""
        from screens.modals.confirm import ConfirmModal

        name = self.contact_name

        def deleted(_answer: Any) -> None:
            self.notify(_("Deleted {kind} {title!r}").format(kind=kind_name("contact"), title=name))
            if self.on_change is not None:
                self.on_change()
            self.app.pop_screen()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(get_kind("contact").delete, self.session, self.contact_id,
                                  done=deleted)

        self.app.push_screen(
            ConfirmModal(_("Delete {kind} {title!r}?").format(kind=kind_name("contact"), title=name),
                         _("This cannot be undone.")), confirmed)

    def action_merge_contact(self) -> None:
        """Pick a duplicate contact and merge it into this one (asks first)."""
        from screens.modals.merge_picker import pick_and_merge

        def merged(result: Any) -> None:
            self.notify(result.summary())
            self._changed()

        pick_and_merge(self, "contact", self.contact_id,
                       _("contact #{contact_id} {name!r}").format(contact_id=self.contact_id,
                                                                  name=self.contact_name), merged)
