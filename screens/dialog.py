"""The base of every dialog: `?` lists the dialog's keys, as it does on every screen."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog of the CRM.

    A modal screen's keys stop at the screen, so the app's `?` does not reach here: the
    dialog offers it itself (the same binding id, so `[keymap]` moves both). Where a text
    field has the focus, `?` is a character and Textual keeps it from the bindings (and the
    footer offers no `? more`).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", id="app.help", show=False,
                tooltip="Every key of this dialog"),
    ]
