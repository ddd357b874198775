"""The board's move dialogs: pick the status to move a card to, give the reason it was lost."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import _
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter


def match_key(text: str) -> str:
    """How typed text meets a status name: no accents, no case (`cerrado` finds Cerrado)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


class StatusPickModal(Dialog[int | None]):
    """The status names: typing narrows them, ↑/↓ choose, enter moves, escape gives up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID,
                tooltip="Leave the card where it is"),
        Binding("down", "cursor(1)", "Next", id="status_pick.down", show=False, priority=True,
                tooltip="Choose the next status"),
        Binding("up", "cursor(-1)", "Previous", id="status_pick.up", show=False, priority=True,
                tooltip="Choose the previous status"),
    ]
    """Typing goes to the search field; the arrows move the choice in the list below it."""

    DEFAULT_CSS = """
    StatusPickModal {
        align: center middle;
        & > #dialog {
            width: 54;
            max-width: 100%;
            height: 17;
            max-height: 100%;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #status-pick-title {
            text-style: bold;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & OptionList {
            height: 1fr;
        }
    }
    """

    def __init__(self, title: str, statuses: list[tuple[int, str]], current: int) -> None:
        """Offer `statuses` ((number, name) pairs) except `current`, under `title`."""
        super().__init__()
        self.title_text = title
        self.statuses = [(number, name) for number, name in statuses if number != current]

    def compose(self) -> ComposeResult:
        """Title, the search field and the statuses that match it."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="status-pick-title", markup=False)
            yield Input(placeholder=_("type part of a status name"), id="status-pick-search")
            yield OptionList(id="status-pick-list")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Every status, the first one chosen; typing starts at once."""
        self._show("")
        self.query_one("#status-pick-search", Input).focus()

    @property
    def choices(self) -> list[str]:
        """The names listed now, in order."""
        found = self.query_one("#status-pick-list", OptionList)
        return [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]

    @on(Input.Changed, "#status-pick-search")
    def _narrow(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, text: str) -> None:
        wanted = match_key(text.strip())
        found = self.query_one("#status-pick-list", OptionList)
        found.clear_options()
        found.add_options([Option(name, id=str(number)) for number, name in self.statuses
                           if wanted in match_key(name)])
        found.highlighted = 0 if found.option_count else None

    def action_cursor(self, step: int) -> None:
        """Choose the status `step` places down (up when negative)."""
        found = self.query_one("#status-pick-list", OptionList)
        if found.option_count:
            current = found.highlighted if found.highlighted is not None else -step
            found.highlighted = max(0, min(current + step, found.option_count - 1))

    @on(Input.Submitted, "#status-pick-search")
    def _pick_highlighted(self, _event: Input.Submitted) -> None:
        found = self.query_one("#status-pick-list", OptionList)
        if found.highlighted is not None:
            self.dismiss(int(found.get_option_at_index(found.highlighted).id or 0))
        else:
            self.notify(_("No status matches what you typed"), severity="warning", timeout=3)

    @on(OptionList.OptionSelected, "#status-pick-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        """Close without moving the card."""
        self.dismiss(None)


class LostReasonModal(Dialog[str | None]):
    """Why a lead was lost: one line, recorded in its activity; enter closes it as lost."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID,
                tooltip="Leave the lead open"),
    ]
    """Enter (in the field) closes the lead as lost, escape gives up."""

    DEFAULT_CSS = """
    LostReasonModal {
        align: center middle;
        & > #dialog {
            width: 64;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #lost-title {
            text-style: bold;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & #lost-hint {
            width: 100%;
            color: $text-muted;
        }
    }
    """

    MAX_LENGTH: ClassVar[int] = 500
    """As long as the services accept (crm_tui.services.leads.MAX_REASON)."""

    def __init__(self, title: str) -> None:
        """Ask for the reason, under `title` (e.g. "Lost: Alpha Ltd")."""
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        """Title, the reason field and what enter does."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="lost-title", markup=False)
            yield Input(placeholder=_("why was it lost?"), max_length=self.MAX_LENGTH,
                        id="lost-reason")
            yield Label(_("enter: close as lost, with this reason in its activity"),
                        id="lost-hint")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Typing starts at once."""
        self.query_one("#lost-reason", Input).focus()

    @on(Input.Submitted, "#lost-reason")
    def _save(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            hint = self.query_one("#lost-hint", Label)
            hint.update(_("A reason is needed to close the lead as lost (escape: keep it open)"))
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        """Close without changing the lead."""
        self.dismiss(None)
