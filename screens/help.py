"""The `?` help: every key that works on the screen it was opened from, built from the
bindings themselves (so it never goes stale)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from crm_tui.i18n import _
from screens import keymap
from screens.footer import KeyFooter


@dataclass(frozen=True)
class KeyHelp:
    """One key as the help lists it."""

    key: str
    """How the key is written, e.g. "ctrl+p" or "⏎"."""
    description: str
    tooltip: str = ""
    enabled: bool = True
    """False for a key that exists here but does not apply right now (greyed)."""
    scope: str = "This screen"
    """Which group it is listed under (in English; translated where shown)."""


class HelpScreen(ModalScreen[None]):
    """A list of keys grouped by scope; escape, q or ? closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id=keymap.BACK_ID, tooltip="Close the help"),
        Binding("question_mark", "toggle", "Close", id="app.help", show=False,
                tooltip="Close the help"),
    ]
    """Any of escape, q and ? (which opened it) closes."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > #dialog {
            width: 76;
            max-width: 100%;
            height: 90%;
            border: thick $primary 60%;
            background: $surface;
            & > #help-title {
                text-style: bold;
                background: $panel;
                width: 100%;
                padding: 0 1;
            }
            & > VerticalScroll {
                padding: 0 1;
            }
        }
        & .help-scope {
            text-style: bold;
            color: $accent;
            margin-top: 1;
        }
    }
    """

    def __init__(self, title: str, keys: Iterable[KeyHelp]) -> None:
        """Create the help for a screen titled `title` with its keys."""
        super().__init__()
        self.title_text = title
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        """One block of keys per scope."""
        with Vertical(id="dialog"):
            yield Label(_("Keys: {title}").format(title=self.title_text), id="help-title",
                        markup=False)
            with VerticalScroll(id="help-keys"):
                scopes: dict[str, list[KeyHelp]] = {}
                for item in self.keys:
                    scopes.setdefault(item.scope, []).append(item)
                for scope, items in scopes.items():
                    yield Label(_(scope), classes="help-scope", markup=False)
                    yield Static(self._lines(items))
        yield KeyFooter(show_command_palette=False)

    @staticmethod
    def _lines(items: list[KeyHelp]) -> Text:
        text = Text()
        width = max(len(item.key) for item in items)
        described = min(14, max(len(item.description) for item in items))
        for number, item in enumerate(items):
            if number:
                text.append("\n")
            style = "" if item.enabled else "dim"
            text.append(item.key.ljust(width + 2), style="bold " + style if style else "bold")
            text.append(item.description.ljust(described), style=style)
            if item.tooltip and item.tooltip != item.description:
                text.append(f"  {item.tooltip}", style="dim")
            if not item.enabled:
                text.append("  " + _("(not here now)"), style="dim italic")
        return text

    def action_toggle(self) -> None:
        """Close the help (? again)."""
        self.dismiss(None)

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
