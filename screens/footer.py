"""The footer: the keys that fit on one line, whole, most important first, and `? more`
for the rest (the `?` help lists every key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from crm_tui import i18n
from crm_tui.i18n import N_, _

REBUILD_DELAY = 0.03
"""Seconds the footer waits for more binding changes before it rebuilds."""

HELP_KEY = "question_mark"
"""The key of the help, which the footer offers as `? more` (unless `[keymap]` moved it)."""

HELP_ACTIONS = ("help", "app.help")
"""The app's help, and a dialog's offer of it (screens.dialog); not the help's own `?`."""


def help_key(active: dict[str, Any]) -> str | None:
    """The key that opens the help here (`?`, or where the user's key map put it)."""
    if HELP_KEY in active and active[HELP_KEY].binding.action in HELP_ACTIONS:
        return HELP_KEY
    return next((key for key, binding in active.items()
                 if binding.binding.action in HELP_ACTIONS), None)

MORE = N_("more")
"""What the footer's `?` entry says."""


def translate_bindings(screen: Screen[Any]) -> None:
    """The descriptions and tooltips of the keys active on `screen`, in the current language
    (written in English at import time; the catalog has them, `crm_tui.i18n_extract`)."""
    for active in screen.active_bindings.values():
        i18n.retranslate(active.binding, "description", "tooltip")


@dataclass(frozen=True)
class FooterEntry:
    """One key as the footer shows it."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str

    @property
    def width(self) -> int:
        """Cells it takes in the compact footer: key, a space, description, a margin."""
        described = 1 + cell_len(self.description) if self.description else 0
        return cell_len(self.display) + described + 1


def footer_keys(screen: Screen[Any], width: int, *, palette: bool = True,
                ) -> tuple[list[FooterEntry], FooterEntry | None, list[FooterEntry]]:
    """The keys the footer of `screen` shows in `width` cells, the `? more` entry (None
    where `?` does not work, as in a text field), and the keys left for `?` to list.

    Keys come in the order Textual resolves them (focused widget, screen, app), one per
    action; a key that does not fit whole is left out, and a later, shorter one may still
    take the room.
    """
    app = screen.app
    active = screen.active_bindings
    help_at = help_key(active)
    help_binding = active.get(help_at) if help_at is not None else None
    more = None
    if help_binding is not None and help_binding.enabled:
        more = FooterEntry(help_at, app.get_key_display(help_binding.binding), _(MORE),
                           help_binding.binding.action, True,
                           help_binding.binding.tooltip or "")
    entries: list[FooterEntry] = []
    actions: set[str] = set()
    for key, (_node, binding, enabled, tooltip) in active.items():
        if not binding.show or key == help_at or binding.action in actions:
            continue
        if key == app.COMMAND_PALETTE_BINDING:
            continue  # docked right, counted below
        actions.add(binding.action)
        entries.append(FooterEntry(key, app.get_key_display(binding), binding.description,
                                   binding.action, enabled, tooltip or ""))
    room = width - (more.width if more is not None else 0)
    palette_binding = active.get(app.COMMAND_PALETTE_BINDING)
    if palette and palette_binding is not None and app.ENABLE_COMMAND_PALETTE:
        # Docked right after a one-cell border.
        room -= 1 + palette_entry(app, palette_binding.binding, palette_binding.enabled).width
    shown, left = [], []
    for entry in entries:
        if entry.width <= room:
            shown.append(entry)
            room -= entry.width
        else:
            left.append(entry)
    return shown, more, left


def palette_entry(app: Any, binding: Binding, enabled: bool) -> FooterEntry:
    """The command palette's key as the footer shows it."""
    return FooterEntry(binding.key, app.get_key_display(binding), binding.description,
                       binding.action, enabled, binding.tooltip or binding.description)


class KeyFooter(Footer):
    """The footer: whole keys only, as many as fit, then `? more`.

    Textual rebuilds the footer on every binding refresh (focus moves, screen switches,
    permission answers), and a rebuild costs tens of milliseconds of widget mounting;
    skipping the ones that would draw the same keys keeps screen switches snappy.
    """

    def __init__(self, *, compact: bool = True, show_command_palette: bool = True) -> None:
        """Create the footer (compact by default: 80 columns hold more keys)."""
        super().__init__(compact=compact, show_command_palette=show_command_palette)
        self._shown: tuple[Any, ...] | None = None
        self._pending = False

    def _width(self) -> int:
        return self.size.width or self.screen.size.width or self.app.size.width

    def compose(self) -> ComposeResult:
        """The keys that fit, in the user's language, then `? more` and the palette key."""
        if not self._bindings_ready:
            return
        translate_bindings(self.screen)
        shown, more, _left = footer_keys(self.screen, self._width(),
                                         palette=self.show_command_palette)
        for entry in [*shown, *([more] if more is not None else [])]:
            yield FooterKey(entry.key, entry.display, entry.description, entry.action,
                            disabled=not entry.enabled, tooltip=entry.tooltip,
                            classes="-more" if entry is more else "",
                            ).data_bind(compact=Footer.compact)
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            entry = palette_entry(self.app, palette.binding, palette.enabled)
            yield FooterKey(entry.key, entry.display, entry.description, entry.action,
                            classes="-command-palette", disabled=not entry.enabled,
                            tooltip=entry.tooltip)

    def _signature(self) -> tuple[Any, ...]:
        translate_bindings(self.screen)
        keys = tuple(
            (key, binding.action, binding.description, enabled)
            for key, (_node, binding, enabled, _tip) in self.screen.active_bindings.items()
            if binding.show or key == self.app.COMMAND_PALETTE_BINDING
            or binding.action in HELP_ACTIONS
        )
        return (*keys, self.show_command_palette, self._width())

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Schedule one rebuild for a burst of refreshes (a screen opening makes several)."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self._schedule()

    def on_resize(self, event: events.Resize) -> None:
        """Another width holds other keys."""
        if self._bindings_ready:
            self._schedule()

    def _schedule(self) -> None:
        if not self._pending:
            self._pending = True
            self.set_timer(REBUILD_DELAY, self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        signature = self._signature()
        if signature == self._shown:
            return
        self._shown = signature
        await self.recompose()
