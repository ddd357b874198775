"""The full-screen app: screens 0-9 as modes, the global keys, the command palette, the
status line, and `make_app()`."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from crm_tui.i18n import N_, _, ngettext
from crm_tui.services.context import Clock, Session
from crm_tui.worker import failure_text

#: Textual's own command palette entries (`get_system_commands` translates them).
TEXTUAL_COMMANDS = (
    N_("Theme"), N_("Change the current theme"), N_("Quit"),
    N_("Quit the application as soon as possible"), N_("Keys"),
    N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"), N_("Minimize the widget and restore to normal size"), N_("Maximize"),
    N_("Maximize the focused widget"), N_("Screenshot"),
    N_("Save an SVG 'screenshot' of the current screen"), N_("Bell"), N_("Ring the bell"),
    # The palette key's own binding (the footers translate it with the screen's keys).
    N_("palette"), N_("Open the command palette"),
)

START_MODE = "start"
"""The mode of the start screen, shown until the session is open (then removed)."""

START_DELAY = 0.01
"""Seconds between the first frame and opening the database behind it."""

MAIL_STATUS_DELAY = 1.0
"""Seconds after start before the mail worker's last sync is first read."""

MAIL_STATUS_SECONDS = 30.0
"""How often the status line reads the mail worker's last sync."""

MAIL_ASKED_SECONDS = 2.0
"""After `s`: how often the status line looks for the pass it asked for ..."""

MAIL_ASKED_FOR = 120.0
"""... and for how long."""


def _screens_provider() -> type:
    from crm_tui.palette import ScreensProvider

    return ScreensProvider


def _actions_provider() -> type:
    from crm_tui.palette import ActionsProvider

    return ActionsProvider


def _goto_provider() -> type:
    from crm_tui.palette import GoToProvider

    return GoToProvider


class CrmApp(App[None]):
    """The CRM in the terminal. Only the screen on view is built (MODES factories)."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "crm"
    DEFAULT_MODE = "1"

    SCREEN_TABLE: ClassVar[dict[str, tuple[str, str, str]]] = {
        "1": ("screens.companies", "CompaniesScreen", N_("Companies")),
        "2": ("screens.contacts", "ContactsScreen", N_("Contacts")),
        "3": ("screens.contracts", "ContractsScreen", N_("Contracts")),
        "4": ("screens.invoices", "InvoicesScreen", N_("Invoices")),
        "5": ("screens.leads", "LeadsScreen", N_("Leads")),
        "6": ("screens.pipeline", "PipelineScreen", N_("Pipeline")),
        "7": ("screens.statistics", "StatisticsScreen", N_("Statistics")),
        "8": ("screens.settings", "SettingsScreen", N_("Settings")),
        "9": ("screens.mail", "MailScreen", N_("Mail")),
        "0": ("screens.admin", "AdminScreen", N_("Admin")),
    }
    """Mode (the key that shows it) → (module, screen class, title). Each class takes the
    session as its only argument; the module is imported when the screen is first shown.
    Titles are English (binding ids are made of them); `_()` translates them where shown."""

    KIND_MODES: ClassVar[dict[str, str]] = {
        "company": "1", "contact": "2", "contract": "3", "invoice": "4", "lead": "5",
    }
    """Which mode lists each record kind (for "New …", "Go to …", import and export)."""

    COMMANDS = App.COMMANDS | {_screens_provider, _actions_provider, _goto_provider}

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(mode, f"goto('{mode}')", title, show=False, id=f"screen.{title.lower()}",
                    tooltip=f"Switch to {title}")  # both translated as a whole where shown
            for mode, (_module, _cls, title) in SCREEN_TABLE.items()
        ),
        Binding("q", "back", "Back", id="app.back", tooltip="Close this screen"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave crm"),
        Binding("ctrl+q", "quit_anywhere", "Quit", id="app.quit_anywhere", show=False,
                priority=True, tooltip="Leave crm from any screen or dialog"),
        Binding("question_mark", "help", "Help", id="app.help",
                tooltip="Every key of this screen"),
        Binding("s", "sync_mail", "Sync mail", show=False, id="mail.sync",
                tooltip="Ask the mail worker to sync now (the status line shows its last sync)"),
    ]
    """0-9 switch screens, q goes back (quits from a main screen), ? helps, s asks the mail
    worker for a sync."""

    def __init__(self, session: Session | None, *, open_session: Callable[[], Session] | None = None,
                 start_message: str = "", live: bool = True) -> None:
        """Create the app for the acting user's session, or for one still to be opened.

        Args:
            session: Who acts, with the clock the services use; None with `open_session`.
            open_session: Opens the database and the session (on a thread, after the
                first frame: start-up is drawn before the database is touched). What it
                raises ends the app, and is kept in `start_error` for the caller to report.
            start_message: What the start screen says meanwhile.
            live: Show what other processes commit on the open screens within a second
                (screens.live); False leaves the screens as they were read.

        The app never talks to the mail servers: the mail worker (`crm --sync --watch`)
        does; the status line shows its last sync and `s` asks it for one now.
        """
        if session is None and open_session is None:
            raise TypeError("CrmApp needs a session or a way to open one")
        if session is None:
            # Start on the start screen instead of screen 1; Textual reads the default mode
            # when its App is initialised, hence set before that.
            self.DEFAULT_MODE = START_MODE
        super().__init__()
        if session is not None:
            session.face = "tui"  # what the history records of changes made here
        self.session: Session = session  # type: ignore[assignment]  # set before any screen
        self.open_session = open_session
        self.start_message = start_message or _("Opening the database…")
        self.start_error: BaseException | None = None
        """Why the session could not be opened (the app has exited)."""
        self.status_text = _("mail: not synced")
        """The status line (right of every screen's top bar)."""
        self._mail_asked_until = 0.0
        """Until when (monotonic) the status line looks often for the sync `s` asked for."""
        self._mail_asked_timer: Any = None
        self.live = live
        self.live_updates: Any = None
        """The change watch feeding the screens (screens.live.LiveUpdates), once started."""
        for mode in self.SCREEN_TABLE:
            self.add_mode(mode, partial(self.build_screen, mode))
        if session is None:
            self.add_mode(START_MODE, self._start_screen)

    @property
    def starting(self) -> bool:
        """True until the session is open (only the start screen shows)."""
        return self.session is None

    def _start_screen(self) -> Screen[Any]:
        """The start screen, drawn while the session opens."""
        from screens.start import StartScreen

        _module, _cls, title = self.SCREEN_TABLE[CrmApp.DEFAULT_MODE]
        # Before the user is known: the language of --lang or the OS locale.
        return StartScreen(f"{CrmApp.DEFAULT_MODE} {_(title)}", self.start_message,
                           _("starting…"))

    def on_mount(self) -> None:
        """Open the session once the first frame is out; then start the mail timer."""
        self._apply_preferences()
        if self.starting:
            # A moment after the first frame: the thread's imports would otherwise hold
            # the interpreter while the frame is still being written to the terminal.
            self.set_timer(START_DELAY, partial(
                self.run_worker, self._open_session, thread=True, group="app.start",
                exit_on_error=False, description="Open the database"))
        else:
            self._start_mail()
            self._start_live()

    def _start_live(self) -> None:
        """Watch the database for other processes' changes (on its own thread)."""
        if not self.live or self.live_updates is not None:
            return
        from screens.live import LiveUpdates

        self.live_updates = LiveUpdates(self)
        self.live_updates.start()

    def on_unmount(self) -> None:
        """Stop the change watch with the app."""
        if self.live_updates is not None:
            self.live_updates.stop()
            self.live_updates = None

    def _apply_preferences(self) -> None:
        """The user's key map and theme (their config file), kept when the theme changes."""
        from crm_tui import preferences

        chosen = preferences.load()
        if chosen.keymap:
            # Checking the overrides imports every screen: on a thread, after the first frame.
            self.run_worker(partial(self._check_keymap, chosen.keymap), thread=True,
                            group="app.keymap", exit_on_error=False,
                            description="Check the user's key map")
        if chosen.theme is not None:
            if chosen.theme in self.available_themes:
                self.theme = chosen.theme
            else:
                self.notify(_("theme {chosen!r} is not known; using {theme}").format(
                                chosen=chosen.theme, theme=self.theme),
                            severity="warning", markup=False)
        for problem in chosen.problems:
            self.notify(problem, severity="warning", markup=False)
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    def _check_keymap(self, keymap: dict[str, str]) -> None:
        """Keep the overrides that fit (screens.keymap.checked), then use them."""
        from crm_tui import preferences
        from screens.keymap import checked

        accepted, refused = checked(keymap, type(self), str(preferences.path()))
        self.call_from_thread(self._use_keymap, accepted, refused)

    def _use_keymap(self, keymap: dict[str, str], refused: list[str]) -> None:
        """An override whose key already does another job is refused, one line each, and
        its default key stays (Textual would silently drop the other job instead)."""
        self.set_keymap(keymap)
        for line in refused:
            self.notify(line, severity="warning", markup=False)

    def _remember_theme(self, theme: Any) -> None:
        from crm_tui import preferences

        preferences.save_theme(theme.name)

    def _open_session(self) -> None:
        assert self.open_session is not None
        try:
            session = self.open_session()
            # The first screen's module loads here too, while the main thread is idle.
            importlib.import_module(self.SCREEN_TABLE[CrmApp.DEFAULT_MODE][0])
        except Exception as error:  # noqa: BLE001 - reported by the caller after the app ends
            self.call_from_thread(self._start_failed, error)
        else:
            self.call_from_thread(self._session_opened, session)

    async def _session_opened(self, session: Session) -> None:
        session.face = "tui"
        self.session = session
        await self.switch_mode(CrmApp.DEFAULT_MODE)
        await self.remove_mode(START_MODE)
        self._start_mail()
        self._start_live()

    def _start_failed(self, error: BaseException) -> None:
        self.start_error = error
        self.exit(return_code=1)

    def _start_mail(self) -> None:
        """Show the mail worker's last sync soon after start, then every so often."""
        self.set_timer(MAIL_STATUS_DELAY, self._read_mail_status)
        self.set_interval(MAIL_STATUS_SECONDS, self._read_mail_status)

    def _read_mail_status(self) -> None:
        self.run_worker(self._mail_status_thread, thread=True, group="mail.status",
                        exclusive=True, exit_on_error=False,
                        description="Read the mail worker's last sync")

    def refresh_mail_status(self) -> None:
        """Read the mail status line again now (e.g. after a lead's new mail was seen)."""
        if not self.starting:
            self._read_mail_status()

    def _mail_status_thread(self) -> None:
        from crm_tui.services import mail_seen, mail_unmatched, mail_worker

        try:
            status = mail_worker.status()
            # What waits for this user: his leads with new mail, mail nobody filed.
            news = [ngettext("new mail on {n} lead", "new mail on {n} leads", n).format(n=n)
                    for n in [mail_seen.unseen_count(self.session)] if n]
            news += [_("{n} unmatched").format(n=n)
                     for n in [mail_unmatched.count_unmatched(self.session)] if n]
        except Exception as error:  # noqa: BLE001 - a status line, not a dialog
            self.call_from_thread(self.set_status,
                                  _("mail: status unavailable ({reason})").format(
                                      reason=failure_text(error)[:40]))
        else:
            self.call_from_thread(self._show_mail_status, status,
                                  [*news, self._contracts_soon()])

    def _contracts_soon(self) -> str:
        """The status line's count of contracts ending soon (only those the user sees)."""
        from crm_tui.services import contract_reminders

        try:
            return contract_reminders.soon_text(self.session)
        except Exception:  # noqa: BLE001 - a status line, not a dialog; the next read retries
            return ""

    def _show_mail_status(self, status: Any, news: list[str] | None = None) -> None:
        self.set_status(" · ".join(part for part in (status.text(), *(news or [])) if part))
        if self._mail_asked_timer is None:
            return
        import time

        if not status.pending:
            self._stop_mail_asked()
            self.notify(_("The mail worker synced: {result}").format(
                            result=status.result or _("done"))
                        if status.ok else _("The mail sync failed: {result}").format(
                            result=status.result),
                        severity="information" if status.ok else "error")
        elif time.monotonic() > self._mail_asked_until:
            self._stop_mail_asked()

    def _stop_mail_asked(self) -> None:
        if self._mail_asked_timer is not None:
            self._mail_asked_timer.stop()
            self._mail_asked_timer = None

    # -- screens ------------------------------------------------------------------------------

    def build_screen(self, mode: str) -> Screen[Any]:
        """Import and build the screen of a mode, passing the session."""
        module_name, class_name, _title = self.SCREEN_TABLE[mode]
        screen_class = getattr(importlib.import_module(module_name), class_name)
        return screen_class(self.session)

    def _modal_open(self) -> bool:
        return isinstance(self.screen, ModalScreen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Screen keys are hidden under a dialog; q is Back on pushed screens, else Quit.
        `?` lists the keys of whatever is on top, a dialog too (screens.dialog offers it
        there; where a text field has the focus, Textual leaves `?` to the field)."""
        if self.starting:
            # Nothing but leaving works before the session is open.
            return action in ("quit", "quit_anywhere")
        if action in ("goto", "back", "quit", "sync_mail") and self._modal_open():
            return False
        if action == "back":
            return len(self.screen_stack) > 1
        if action == "quit":
            return len(self.screen_stack) <= 1
        return True

    async def run_action(self, action: Any, default_namespace: Any = None,
                         namespaces: Any = None) -> bool:
        """Run an action; a key greyed because the user may not do it says why instead
        (the screen's `refusal`), and counts as handled."""
        target, name, parameters = self._parse_action(
            action, self if default_namespace is None else default_namespace, namespaces)
        if target.check_action(name, parameters) is None:
            refusal = getattr(target, "refusal", None)
            text = refusal(name, parameters) if refusal is not None else None
            if text:
                self.notify(text, severity="warning", timeout=5, markup=False)
                return True
        return await super().run_action(action, default_namespace, namespaces)

    def action_goto(self, mode: str) -> None:
        """Show screen `mode` ("0"…"9")."""
        self.switch_mode(mode)

    def action_quit_anywhere(self) -> None:
        """Leave crm from any screen or dialog; a form's unsaved edits are only dropped once
        the user says so."""
        unsaved = any(getattr(screen, "has_unsaved_edits", lambda: False)()
                      for screen in self.screen_stack)
        if not unsaved:
            self.exit()
            return
        if getattr(self.screen, "quit_question", False):
            return  # already asking
        from screens.modals.confirm import ConfirmModal

        question = ConfirmModal(_("Quit and discard your unsaved changes?"),
                                _("y quits, n returns to the form"))
        question.quit_question = True

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.exit()

        self.push_screen(question, answered)

    def action_back(self) -> None:
        """Close the screen on top (a detail view)."""
        if len(self.screen_stack) > 1:
            self.pop_screen()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[Any]:
        """Textual's own palette commands (theme, quit, keys...), in the user's language."""
        for command in super().get_system_commands(screen):
            yield command._replace(title=_(command.title), help=_(command.help))

    def action_command_palette(self) -> None:
        """Textual's command palette, its search prompt in the user's language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(placeholder=_("Search for commands…"),
                                            id="--command-palette"))

    def action_help(self) -> None:
        """List every key of the current screen, built from its bindings."""
        from screens.footer import translate_bindings
        from screens.help import HelpScreen, KeyHelp

        screen = self.screen
        translate_bindings(screen)
        keys: list[KeyHelp] = []
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or is_internal(key, binding):
                continue
            if active.node is self:
                scope = N_("Everywhere")
            elif not binding.show:
                scope = N_("Moving around")
            else:
                scope = N_("This dialog") if self._modal_open() else N_("This screen")
            keys.append(KeyHelp(self.get_key_display(binding), binding.description,
                                binding.tooltip or active.tooltip or "", active.enabled,
                                scope))
        order = {"This screen": 0, "This dialog": 0, "Moving around": 1, "Everywhere": 2}
        keys.sort(key=lambda item: order[item.scope])
        title = (getattr(screen, "screen_title", lambda: "")()
                 or str(getattr(screen, "title_text", "") or "") or _("this dialog"))
        self.push_screen(HelpScreen(title, keys))

    # -- records from anywhere (the palette) -------------------------------------------------

    async def _show_kind(self, kind: str) -> Any:
        mode = self.KIND_MODES.get(kind)
        if mode is None:
            return None
        await self.switch_mode(mode)
        # Any detail screen pushed on that mode's list is closed first.
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        return self.screen

    async def open_record(self, kind: str, record_id: int, note: str = "") -> None:
        """Show a record the way its list opens it (its detail screen); `note` is said
        first (which record an id merged away led to)."""
        if note:
            self.notify(note)
        screen = await self._show_kind(kind)
        if screen is not None and hasattr(screen, "open_record"):
            screen.open_record(record_id)

    async def new_record(self, kind: str) -> None:
        """Open the form for a new record of a kind (the `n` key of its list)."""
        screen = await self._show_kind(kind)
        if screen is not None and hasattr(screen, "action_new_record"):
            screen.action_new_record()

    async def import_csv(self, kind: str) -> None:
        """Start the CSV import of a kind (the `i` key of its list)."""
        screen = await self._show_kind(kind)
        if screen is not None and hasattr(screen, "action_import_csv"):
            screen.action_import_csv()

    async def export_csv(self, kind: str) -> None:
        """Start the CSV export of a kind (the `x` key of its list)."""
        screen = await self._show_kind(kind)
        if screen is not None and hasattr(screen, "action_export_csv"):
            screen.action_export_csv()

    async def find_records(self, kind: str) -> None:
        """Show a kind's list with its filter open (companies: the flat list)."""
        screen = await self._show_kind(kind)
        if screen is not None and hasattr(screen, "action_filter"):
            opened = screen.action_filter()
            if inspect.isawaitable(opened):
                await opened

    async def show_catalogue(self, kind: str) -> None:
        """Show screen 0 on the catalogue of `kind` (contract types, templates...), which
        is where every catalogue is kept."""
        await self.switch_mode("0")
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        show = getattr(self.screen, "show_catalogue", None)
        if show is not None:
            show(kind)

    # -- status line and background jobs ------------------------------------------------------

    def set_status(self, text: str) -> None:
        """Change the status line of every screen."""
        self.status_text = text
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_status", None)
            if refresh is not None:
                refresh()

    def action_sync_mail(self) -> None:
        """Ask the mail worker to sync now (it runs as a service; the app never logs in)."""
        self.run_worker(self._ask_for_sync, thread=True, group="mail.ask", exclusive=True,
                        exit_on_error=False, description="Ask the mail worker to sync")

    def _ask_for_sync(self) -> None:
        from crm_tui.services import mail_worker

        status = mail_worker.request_sync(self.session)
        self.call_from_thread(self._sync_asked, status)

    def _sync_asked(self, status: Any) -> None:
        import time

        self.set_status(status.text())
        self.notify(_("Asked the mail worker to sync now"))
        self._mail_asked_until = time.monotonic() + MAIL_ASKED_FOR
        if self._mail_asked_timer is None:
            self._mail_asked_timer = self.set_interval(MAIL_ASKED_SECONDS,
                                                       self._read_mail_status)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers: a failure is told, never lost."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(failure_text(event.worker.error), severity="error", timeout=10)


INTERNAL_ACTIONS = frozenset({"copy", "screen.copy_text", "help_quit"})
"""Textual's own keys that the help leaves out: copying a selection, ctrl+c's hint."""


def is_internal(key: str, binding: Binding) -> bool:
    """Whether a key is Textual's plumbing rather than one of the CRM's keys (`?` leaves it
    out): system keys, the copy keys, `super+` keys (a Mac's command key)."""
    return (binding.system or binding.action in INTERNAL_ACTIONS
            or key.startswith("super+"))


def make_app(session: Session | None, clock: Clock | None = None, **options: Any) -> CrmApp:
    """Build the app for a session; `clock` replaces the session's (tests freeze it).

    With no session, `open_session` (in `options`) opens one after the first frame.
    """
    if session is not None and clock is not None:
        session = Session(session.user, clock)
    elif session is not None:
        options.pop("open_session", None)
    return CrmApp(session, **options)


__all__ = ["CrmApp", "make_app"]
