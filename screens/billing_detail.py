"""`BillingDetailScreen`: what the contract and invoice detail screens share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Label

from crm_tui.i18n import _
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind
from screens.detail import DetailScreen
from screens.refusals import permission_refusal


def loading_box(box_id: str) -> VerticalScroll:
    """A scrolling box that says "Loading…" until the record's blocks replace it."""
    return VerticalScroll(Label(_("Loading…"), classes="placeholder"), id=box_id)


class BillingDetailScreen(DetailScreen):
    """One contract or invoice, read through the services: its blocks in `#details`, and
    the keys both have (edit, delete, save a file, history, back), each greyed unless the
    services allow it.

    A subclass declares its `BINDINGS`, `record_kind`, `NAME_KEY`, the actions that need the
    right to change (`MODIFY_ACTIONS`) or to delete (`DELETE_ACTIONS`) the record, and says
    what is its own: `read_data`, `compose_body`, `titled` (the top bar once the record is
    known), `detail_blocks`, `delete_texts`, `save_file_title`, and `check_action` for its
    own keys (ending with `super().check_action`).
    """

    record_id_attr = "record_id"

    NAME_KEY: ClassVar[str] = "name"
    """The field that names the record in questions and titles."""
    MODIFY_ACTIONS: ClassVar[tuple[str, ...]] = ()
    """Actions that need the right to change the record."""
    DELETE_ACTIONS: ClassVar[tuple[str, ...]] = ()
    """Actions that need the right to delete the record."""

    def __init__(self, session: Session, record_id: int, *,
                 on_change: Callable[[], Any] | None = None) -> None:
        """Create the screen for one record.

        Args:
            session: The acting user.
            record_id: The record shown.
            on_change: Called after the record was changed or deleted here.
        """
        super().__init__(session)
        self.record_id = record_id
        self.on_change = on_change
        self.data: dict[str, Any] | None = None

    # -- what a subclass says -------------------------------------------------------------

    def titled(self, data: dict[str, Any]) -> str:
        """The top bar's title once the record is read (override)."""
        raise NotImplementedError

    def detail_blocks(self, data: dict[str, Any]) -> Iterable[Widget]:
        """The blocks of `#details` (override)."""
        raise NotImplementedError

    def show_more(self, data: dict[str, Any]) -> None:
        """Show what lives outside `#details` (override: other tabs, their labels)."""

    def delete_texts(self, name: str) -> tuple[str, str, str]:
        """Deleting the record called `name`: the question, what it means, and what is said
        once it is done (override)."""
        raise NotImplementedError

    def save_file_title(self, name: str) -> str:
        """The title of the dialog that saves one of the files of `name` (override)."""
        raise NotImplementedError

    def shown_name(self, data: dict[str, Any]) -> str:
        """How the top bar and refusals name the record once it is read."""
        return data[self.NAME_KEY]

    def reload_related(self) -> None:
        """Read the related records again after a change (override)."""

    # -- showing the record ---------------------------------------------------------------

    def record_name(self) -> str:
        """How questions name the record: its name, else its id."""
        return (self.data or {}).get(self.NAME_KEY) or f"#{self.record_id}"

    def screen_title(self) -> str:
        """The record's title once known."""
        return self.titled(self.data) if self.data else _(self.SCREEN_TITLE)

    def on_mount(self) -> None:
        """Read the record."""
        self.reload()

    def show_data(self, data: dict[str, Any]) -> None:
        """Show what `read_data` returned."""
        self.data = data
        self.set_title(self.screen_title())
        box = self.query_one("#details", VerticalScroll)
        box.remove_children()
        box.mount_all(self.detail_blocks(data))
        self.show_more(data)
        self.refresh_bindings()

    # -- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey the changing keys unless the services allow them on this record."""
        data = self.data
        permissions = (data or {}).get("permissions") or {}
        if action in self.MODIFY_ACTIONS:
            return True if permissions.get("edit") else None
        if action in self.DELETE_ACTIONS:
            return True if permissions.get("delete") else None
        if action == "save_file":
            return True if data and data.get("files") else None
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """The changing keys on a record the user may not change."""
        if self.data is None:
            return None
        return permission_refusal(self.data.get("permissions") or {}, action,
                                  self.shown_name(self.data), self.MODIFY_ACTIONS,
                                  self.DELETE_ACTIONS)

    def _changed(self, result: Any = None) -> None:
        """A dialog changed the record (None: it was cancelled): show it again."""
        if result is None:
            return
        self.reload()
        self.reload_related()
        if self.on_change is not None:
            self.on_change()

    def delete_record(self) -> None:
        """Ask, then delete this record and go back."""
        from screens.modals.confirm import ConfirmModal

        question, meaning, done_text = self.delete_texts(self.record_name())

        def deleted(_result: Any) -> None:
            self.notify(done_text)
            if self.on_change is not None:
                self.on_change()
            self.app.pop_screen()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(get_kind(self.record_kind).delete, self.session,
                                  self.record_id, done=deleted)

        self.app.push_screen(ConfirmModal(question, meaning), confirmed)

    def action_save_file(self) -> None:
        """Save a copy of one of this record's files on this machine."""
        from screens.modals.save_attachment import SaveAttachmentModal

        self.app.push_screen(SaveAttachmentModal(self.session, self.record_kind, self.record_id,
                                                 self.save_file_title(self.record_name())))
