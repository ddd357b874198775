"""Picking the duplicate to merge into the record on screen: type words of its name, pick it
from the list (only records the user may change are offered)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import _, kind_name
from crm_tui.services import merging
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service


class MergePickerModal(Dialog[int | None]):
    """Lists records of a kind that could be merged into one; dismisses with the id picked,
    or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Merge nothing"),
        Binding("down", "to_list", "List", show=False, id="merge.list", priority=True,
                tooltip="Move from the search to the list"),
    ]
    """Typing searches, down moves to the list, enter picks, escape cancels."""

    DEFAULT_CSS = """
    MergePickerModal {
        align: center middle;
        & > #dialog {
            width: 70;
            max-width: 100%;
            height: auto;
            max-height: 24;
            border: thick $warning 60%;
            background: $surface;
            padding: 0 1;
        }
        & #merge-title {
            text-style: bold;
        }
        & OptionList {
            height: auto;
            max-height: 14;
        }
    }
    """

    def __init__(self, session: Session, kind: str, record_id: int, title: str) -> None:
        """Create the picker for records of `kind` to merge into `record_id`."""
        super().__init__()
        self.session, self.kind, self.record_id, self.title_text = (
            session, kind, record_id, title)

    def compose(self) -> ComposeResult:
        """A title, a search line and the candidates."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="merge-title", markup=False)
            yield Input(placeholder=_("words of the name or email"), id="merge-search")
            yield OptionList(id="merge-options", compact=True, markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """List the first candidates."""
        self.query_one("#merge-search", Input).focus()
        self._search("")

    @on(Input.Changed, "#merge-search")
    def _typed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @on(Input.Submitted, "#merge-search")
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_to_list()

    def _search(self, text: str) -> None:
        run_service(self, merging.candidates, self.session, self.kind, self.record_id, text,
                    done=self._listed, group="merge.search", exclusive=True)

    def _listed(self, found: list[tuple[int, str]]) -> None:
        options = self.query_one("#merge-options", OptionList)
        options.clear_options()
        options.add_options([Option(label, id=str(record_id)) for record_id, label in found])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`down` moves to the list only from the search field (in the list it moves)."""
        if action == "to_list":
            return isinstance(self.focused, Input)
        return True

    def action_to_list(self) -> None:
        """Focus the candidates."""
        options = self.query_one("#merge-options", OptionList)
        if options.option_count:
            options.focus()
            options.highlighted = options.highlighted or 0

    @on(OptionList.OptionSelected, "#merge-options")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0) or None)

    def action_cancel(self) -> None:
        """Merge nothing."""
        self.dismiss(None)


def pick_and_merge(screen, kind: str, record_id: int, label: str, done) -> None:
    """On a detail screen: pick a record, confirm, then merge it into `record_id`;
    `done(result)` runs after the merge (a `merging.MergeResult`)."""
    from screens.modals.confirm import ConfirmModal

    def picked(other: int | None) -> None:
        if other is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                run_service(screen, merging.merge, screen.session, kind, record_id, other,
                            done=done, group="merge")

        screen.app.push_screen(ConfirmModal(
            _("Merge {kind} #{other} into {label}?").format(kind=kind_name(kind), other=other,
                                                             label=label),
            _("Its activity, files and links move here, differing values become a note, "
              "and #{other} then names this {kind}.").format(other=other, kind=kind_name(kind))),
        confirmed)

    screen.app.push_screen(
        MergePickerModal(screen.session, kind, record_id,
                         _("Merge into {label}").format(label=label)), picked)
