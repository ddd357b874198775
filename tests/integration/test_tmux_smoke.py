"""`crm --demo` as a real process in a real 80x24 terminal (tmux): keys in, screen text out."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.tmux

ROOT = Path(__file__).resolve().parents[2]


class Terminal:
    """A tmux server of our own (its own socket) running one command in an 80x24 pane."""

    def __init__(self, tmux: str, command: str, env: dict[str, str]) -> None:
        self.tmux = tmux
        self.socket = f"crm-smoke-{uuid.uuid4().hex[:8]}"
        self.session = "crm"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # The shell prints the exit status and lingers, so the test can read it.
        script = f"cd {shlex.quote(str(ROOT))} && env {exports} {command}; echo EXIT=$?; sleep 60"
        self._tmux("new-session", "-d", "-s", self.session, "-x", "80", "-y", "24",
                   f"sh -c {shlex.quote(script)}")

    def _tmux(self, *args: str) -> str:
        result = subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True,
                                text=True, timeout=20)
        return result.stdout

    def send(self, *keys: str) -> None:
        """Press keys (tmux key names: Enter, Escape, Down…)."""
        for key in keys:
            self._tmux("send-keys", "-t", self.session, key)
            time.sleep(0.15)

    def screen(self) -> str:
        """The pane's text, as a user sees it."""
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """Wait until `text` shows; returns the screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed; the screen was:\n{screen}")

    def close(self) -> None:
        """Stop our tmux server (and whatever still runs in it)."""
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=20)


@pytest.fixture
def tmux() -> str:
    """The tmux binary; skipped where missing, except in CI, where that fails."""
    path = shutil.which("tmux")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is missing (CI=true: the terminal smoke test must run)")
        pytest.skip("tmux is not installed")
    return path


def test_crm_demo_runs_in_an_80x24_terminal(tmux, data_dir):
    env = {"CRM_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    terminal = Terminal(tmux, f"{shlex.quote(sys.executable)} -m crm_tui --demo", env)
    try:
        terminal.wait_for("My company", timeout=60)
        # The demo's root opens by itself once its children are read.
        screen = terminal.wait_for("├──")
        assert "1 Companies · tree" in screen
        assert "⏎ Open" in screen and "? more" in screen
        assert screen.count("├──") >= 10

        terminal.send("2")
        terminal.wait_for("2 Contacts")
        # The rows arrive from a worker after the screen shows: wait for them.
        screen = terminal.wait_for("@example.")
        assert "Full name" in screen

        terminal.send("7")
        terminal.wait_for("Companies per manager")
        # The bars are drawn when the counts arrive from a worker.
        screen = terminal.wait_for("█")
        assert "7 Statistics" in screen

        terminal.send("1", "v")
        screen = terminal.wait_for("Billing")
        assert "1 Companies · list" in screen

        terminal.send("Enter")
        terminal.wait_for("Payment conditions")
        # The tab bar is laid out a frame after the first fields on a busy machine.
        screen = terminal.wait_for("Details")
        assert "1 Company · " in screen and "Payment conditions" in screen

        terminal.send("q", "q")
        screen = terminal.wait_for("EXIT=", timeout=20)
        assert "EXIT=0" in screen
    finally:
        terminal.close()


def test_crm_reports_an_unreachable_database_after_the_app_closes(tmux, data_dir):
    # The first frame comes before the database is opened; when opening fails, the app
    # closes and the error is one line on a restored terminal, with exit code 4.
    env = {"CRM_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    command = f"{shlex.quote(sys.executable)} -m crm_tui --db postgresql://crm@127.0.0.1:1/crm"
    terminal = Terminal(tmux, command, env)
    try:
        screen = terminal.wait_for("EXIT=", timeout=30)
        assert "EXIT=4" in screen
        errors = [line for line in screen.splitlines() if line.startswith("crm: error:")]
        assert len(errors) == 1, screen
        assert "127.0.0.1" in errors[0] or "connect" in errors[0]
        assert "Traceback" not in screen
    finally:
        terminal.close()


def footer_line(screen: str) -> str:
    """The bottom line's keys, without the command palette's entry docked on the right."""
    lines = screen.rstrip("\n").splitlines()
    return lines[-1].split("▏")[0].rstrip() if lines else ""


def wait_for_whole_footer(terminal: Terminal, title: str, timeout: float = 30.0) -> str:
    """Wait until `title` shows and the footer ends with `? more`: the footer keeps a key
    only when it fits whole before `? more`, so a cut key (or a footer wider than the
    terminal) loses `? more` first."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = terminal.screen()
        footer = footer_line(screen)
        if title in screen and footer.endswith("? more") and "…" not in footer:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{title!r} with a whole footer never showed; the screen was:\n{screen}")


#: (keys pressed, what the screen then shows): every main screen, and each kind's detail
#: opened from its list (the first row).
WALK = (
    (("1",), "1 Companies · tree"),
    (("v",), "1 Companies · list"),
    (("Enter",), "1 Company · "),
    (("Escape", "2"), "2 Contacts"),
    (("Enter",), "2 Contact · "),
    (("Escape", "3"), "3 Contracts"),
    (("Enter",), "3 Contract · "),
    (("Escape", "4"), "4 Invoices"),
    (("Enter",), "4 Invoice · "),
    (("Escape", "5"), "5 Leads"),
    (("Enter",), "5 Leads › #"),
    (("Escape", "6"), "6 Pipeline"),
    (("7",), "7 Statistics"),
    (("8",), "8 Settings"),
    (("9",), "9 Mail"),
    (("0",), "0 Admin · Users"),
    (("[",), "0 Admin · Status names"),
)


def test_every_screen_shows_whole_footer_keys_at_80x24(tmux, data_dir):
    env = {"CRM_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
           "LANG": "C.UTF-8"}
    terminal = Terminal(tmux, f"{shlex.quote(sys.executable)} -m crm_tui --demo --lang en",
                        env)
    try:
        terminal.wait_for("My company", timeout=60)
        for keys, title in WALK:
            if keys[-1] == "Enter":
                # The list's rows come from a worker: open a row only once one is drawn.
                time.sleep(0.5)
            terminal.send(*keys)
            screen = wait_for_whole_footer(terminal, title)
            footer = footer_line(screen)
            assert len(footer) <= 80 and footer.count("? more") == 1, (title, footer)
    finally:
        terminal.close()
