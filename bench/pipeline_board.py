"""Pipeline board first paint with 100,000 open leads against 100, and a card move round trip.

Usage: python bench/pipeline_board.py [--big 100000] [--small 100] [--runs 5] [--keep DIR]
                                      [--user sales2]

Two migrated SQLite databases get 100 and 100,000 open leads (spread over the five open
statuses, plus as many closed ones again, raw executemany). Three leads in four belong to
one of 50 customers of "My company", whose salesperson `--user` (profile Sales) sees them
all: three quarters of the leads, as in the demo data. For each database and for the
superadmin and the salesperson, the real screen 6 (`screens.pipeline.PipelineScreen`) is
mounted headless at 80x24 in a fresh app and timed from the app's start to the first frame
in which every column in view shows its first cards (the first paint: the board builds only
the columns and cards in view; a headless app renders every frame without writing it, and
the frame's end is the time), then to the moment the screen has settled (Pilot's wait for
the screen: the footer's keys rebuilt, every message handled), then to the frame in which
every header shows its count and sum. Runs alternate between the sizes (in alternating order) and the medians are
printed; the goal is
both first paints within one 16 ms frame of each other: a column's first page is an
index-ordered read of a few rows whatever the column's size, and the figures (one
GROUP BY over every open lead) arrive on their own thread without holding the cards back.

The board's first paint is also compared with a bare Textual app drawing as many widgets
as the board's screen holds at its first paint (two-line labels in five columns and a
footer), timed the same way (its first frame showing them, and settled), in the same run:
goal <= 1.3x at each size, for each user (the settled times are printed beside them).

Also printed: the service reads alone (the titles and a first page per column, which the
first paint waits for; the GROUP BY of the header figures, which it does not), and a card
move round trip on the big board: the time until the card shows in the next column
(local, before the database is touched) and until the status change is stored, logged
and the headers recounted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: How many widgets the board's screen had at its first paint, per login (the bare app draws
#: as many).
WIDGETS: dict[str, list[int]] = {}

COUNTRIES = ("Spain", "France", "Germany", "Portugal", "Italy", "")
CHANNELS = ("web", "phone", "fair", "mail", "")


def build(path: Path, open_leads: int) -> None:
    """A migrated database with `open_leads` open leads and as many closed ones."""
    from crm_tui import db
    from crm_tui.models import Company, Profile, User, UserProfile
    from crm_tui.services.database import open_and_prepare

    open_and_prepare(str(path))
    # My company, its salesperson, and 50 customers it manages (see the module docstring).
    admin = User.get(User.login == "admin")
    root = Company.create(name="My company", manager=admin.id, country="Spain")
    root.manager_company_id = root.id
    root.save()
    admin.company = root.id
    admin.save()
    seller = User.create(login=SALESPERSON, real_name="Pablo Ventas", company=root.id,
                         email=f"{SALESPERSON}@example.com", language="en")
    UserProfile.create(user=seller.id, profile=Profile.get(Profile.name == "Sales").id)
    customers = [Company.create(name=f"Customer {n:02d}", parent=root.id, manager=admin.id,
                                manager_company_id=root.id, country="Spain").id
                 for n in range(50)]
    db.close_database()
    rng = random.Random(7)
    start = dt.datetime(2025, 1, 1)
    con = sqlite3.connect(path)

    def rows():
        for n in range(open_leads * 2):
            status = n % 5 if n < open_leads else 5 + n % 4
            created = start + dt.timedelta(minutes=n * 3)
            close = (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(400))
                     if rng.random() < 0.7 else None)
            yield (f"Lead {n:07d}", f"lead{n}@example.com", f"lead{n}@example.com",
                   f"Company {n % 5000:04d}", COUNTRIES[n % len(COUNTRIES)], "", "", "en", 1,
                   customers[n % 50] if n % 4 else None,
                   rng.randrange(0, 5_000_000) / 100, close, status, None,
                   CHANNELS[n % len(CHANNELS)], "", created, created)

    with con:
        con.executemany(
            "INSERT INTO lead (full_name, email, email_key, company_name, country, position, "
            "phone, language, owner_id, company_id, estimated_sale, estimated_close, status, "
            "lead_type_id, channel, description, created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((*r[:11], r[11].isoformat() if r[11] else None, *r[12:16],
              r[16].isoformat(" "), r[17].isoformat(" ")) for r in rows()))
        con.execute("ANALYZE")
    con.close()


SALESPERSON = "sales2"


def _session(target: Path, login: str = "admin"):
    from crm_tui.models import User
    from crm_tui.services.context import Session
    from crm_tui.services.database import open_and_prepare

    open_and_prepare(str(target))
    return Session(User.get(User.login == login))


def _board(app):
    """The board once it has columns (found once per app: the waits below ask every ms,
    and a query of the whole screen each time would slow the app they measure)."""
    from widgets.kanban import KanbanBoard

    board = getattr(app, "_bench_board", None)
    if board is None:
        boards = list(app.screen.query("#board").results(KanbanBoard))
        if not boards:
            return None
        board = app._bench_board = boards[0]
    return board if board.kanban_columns else None


def _cards_shown(app) -> bool:
    """Every column (all have leads here) has its first cards, and those in view (the
    built ones) show them: their card widgets are mounted."""
    board = _board(app)
    if board is None or not all(c.cards and not c.loading for c in board.kanban_columns):
        return False
    built = [c for c in board.kanban_columns if getattr(c, "built", True)]
    return bool(built) and all(c.card_widgets() and all(w.is_mounted for w in c.card_widgets())
                               for c in built)


def _figures_shown(app) -> bool:
    """Every column header shows its count and sum."""
    board = _board(app)
    return board is not None and all(c.data.count for c in board.kanban_columns)


def clock_frames() -> None:
    """Note, on the app being measured, when it first renders a frame in which its
    `_bench_check()` holds (headless apps render frames without writing them)."""
    from textual.app import App

    if getattr(App, "_bench_clocked", False):
        return
    render = App._display

    def display(app, screen, renderable) -> None:
        render(app, screen, renderable)
        check = getattr(app, "_bench_check", None)
        if (renderable is not None and not app._batch_count and check is not None
                and getattr(app, "_bench_painted", None) is None and check()):
            app._bench_painted = time.perf_counter()

    App._display = display
    App._bench_clocked = True


async def bare_paint(widgets: int, switch: bool = True) -> tuple[float, float]:
    """Seconds until a bare Textual app's first frame showing `widgets` two-line labels in
    five columns and a footer (what the board draws, without the CRM), and until it has
    settled: timed from the switch to that screen in a running app (`switch`), or from a
    fresh app's start with that screen as its first."""
    from textual.app import ComposeResult
    from textual.containers import Horizontal, Vertical
    from textual.screen import Screen
    from textual.widgets import Footer, Static

    class Cards(Screen[None]):
        def compose(self) -> ComposeResult:
            with Horizontal():
                for column in range(5):
                    with Vertical():
                        for n in range(column, widgets, 5):
                            yield Static(f"Card {n}\n1,234.00 EUR")
            yield Footer()

    def shown() -> bool:
        return isinstance(app.screen, Cards) and len(app.screen.query(Static)) >= widgets

    app = _harness(Cards, switch)
    return await _time_switch(app, shown, switch)


async def first_paint(target: Path, login: str = "admin",
                      switch: bool = True) -> tuple[float, float, float]:
    """Seconds until the first frame with every column's first cards, until the screen has
    settled, and until the frame with every header's count and sum: timed from the switch
    to the board in a running app (`switch`), or from a fresh app's start with the board as
    its first screen."""
    from screens.pipeline import PipelineScreen

    session = _session(target, login)
    app = _harness(lambda: PipelineScreen(session), switch)
    painted, settled = await _time_switch(app, lambda: _cards_shown(app), switch, login)
    return painted, settled, app._bench_figures


def _harness(make_screen, switch: bool):
    """An app that shows `make_screen()`: at once, or when `switch_now()` is called."""
    from textual.app import App

    class Harness(App[None]):
        def on_mount(self) -> None:
            if not switch:
                self.switch_now()

        def switch_now(self) -> None:
            self.push_screen(make_screen())

    return Harness()


async def _time_switch(app, shown, switch: bool, login: str | None = None) -> tuple[float, float]:
    """(first frame where `shown()`, settled), in seconds from the switch or the start; for
    the board (`login`), also waits for the header figures (`app._bench_figures`)."""
    clock_frames()
    start = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        if switch:
            await pilot.pause()  # the app's own start is not timed
            start = time.perf_counter()
            app._bench_check = shown
            app.switch_now()
        else:
            app._bench_check = shown
        while not shown():
            await asyncio.sleep(0.001)
        await pilot.pause()  # the frame that shows them, and whatever follows at once
        settled = time.perf_counter() - start
        if login is not None:
            WIDGETS.setdefault(login, []).append(len(app.screen.query("*")))
            while not _figures_shown(app):
                await asyncio.sleep(0.001)
            await pilot.pause()
            app._bench_figures = time.perf_counter() - start
    return app._bench_painted - start, settled


async def move_round_trip(target: Path) -> tuple[float, float]:
    """(seconds until the moved card shows in the next column, until it is stored)."""
    from textual.app import App

    from screens.pipeline import PipelineScreen
    from widgets.kanban import KanbanBoard

    session = _session(target)

    class Harness(App[None]):
        def on_mount(self) -> None:
            self.push_screen(PipelineScreen(session))

    app = Harness()
    async with app.run_test(size=(80, 24)) as pilot:
        while not (_cards_shown(app) and _figures_shown(app)):
            await asyncio.sleep(0.001)
        await pilot.pause()
        board = app.screen.query_one("#board", KanbanBoard)
        key = board.cursor_card.key
        start = time.perf_counter()
        await pilot.press("shift+right")
        shown = time.perf_counter() - start
        screen = app.screen
        while screen._saving or screen._moves or any(not w.is_finished for w in app.workers):
            await asyncio.sleep(0.001)
        await pilot.pause()
        stored = time.perf_counter() - start
        assert key in [card.key for card in board.kanban_columns[1].cards]
        # Put it back, so every run starts from the same board.
        await pilot.press("shift+left")
        while screen._saving or screen._moves:
            await asyncio.sleep(0.001)
        await app.workers.wait_for_complete()
    return shown, stored


def service_path(target: Path, login: str = "admin") -> tuple[float, float]:
    """Seconds for what the first paint reads (titles + a first page of each column), and
    for the header figures (one GROUP BY), through the services."""
    from crm_tui.services import pipeline

    session = _session(target, login)
    pipeline.columns(session)  # warm the connection and the page cache
    start = time.perf_counter()
    for status, _title in pipeline.titles():
        pipeline.column_page(session, status, "estimated_sale", 0, 10)
    cards = time.perf_counter() - start
    start = time.perf_counter()
    pipeline.columns(session)
    return cards, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--user", default=SALESPERSON,
                        help="the salesperson's login (made by the build)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["CRM_DATA_DIR"] = str(folder)
        small, big = folder / f"leads-{args.small}.sqlite3", folder / f"leads-{args.big}.sqlite3"
        for path, count in ((small, args.small), (big, args.big)):
            if not path.exists():
                print(f"building {count:,} open leads…", file=sys.stderr)
                started = time.perf_counter()
                build(path, count)
                print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr)

        users = ("admin", args.user)
        for login in users:
            asyncio.run(first_paint(small, login))  # warm the imports and the file cache
            asyncio.run(first_paint(big, login))
        modes = ("switch", "start")
        sizes = ("small", "big")
        paints = {(login, label, mode): [] for login in users for label in sizes
                  for mode in modes}
        reads = {(login, label): [] for login in users for label in sizes}
        bares: dict[tuple[str, str], list[tuple[float, float]]] = {
            (login, mode): [] for login in users for mode in modes}
        widgets = {login: max(WIDGETS[login]) for login in users}
        asyncio.run(bare_paint(widgets["admin"]))
        # Interleaved, in alternating order (the second app of a pair pays for tidying
        # up after the first), with the bare app in between, so neither a busy machine
        # nor the order favours one size or the baseline.
        for run in range(args.runs):
            for login in users:
                for mode in modes:
                    switch = mode == "switch"
                    pair = (("small", small), ("big", big))
                    for label, path in pair if run % 2 == 0 else pair[::-1]:
                        paints[login, label, mode].append(
                            asyncio.run(first_paint(path, login, switch)))
                    bares[login, mode].append(asyncio.run(bare_paint(widgets[login], switch)))
                for label, path in (("small", small), ("big", big)):
                    reads[login, label].append(service_path(path, login))
        moves = [asyncio.run(move_round_trip(big)) for _ in range(args.runs)]

    def median(login: str, label: str, mode: str, part: int) -> float:
        return statistics.median(p[part] for p in paints[login, label, mode])

    for login in users:
        who = "superadmin" if login == "admin" else f"salesperson {login}"
        print(f"-- {who}")
        for label, count in (("small", args.small), ("big", args.big)):
            cards_read = statistics.median(r[0] for r in reads[login, label]) * 1000
            figures_read = statistics.median(r[1] for r in reads[login, label]) * 1000
            print(f"{count:>9,} open leads, from the switch: first frame with cards "
                  f"{median(login, label, 'switch', 0) * 1000:6.1f} ms, settled "
                  f"{median(login, label, 'switch', 1) * 1000:6.1f} ms, header figures "
                  f"{median(login, label, 'switch', 2) * 1000:6.1f} ms  (services: first "
                  f"pages {cards_read:.1f} ms, figures {figures_read:.1f} ms)")
        gap = (median(login, "big", "switch", 0) - median(login, "small", "switch", 0)) * 1000
        print(f"first paint difference: {gap:+.1f} ms, ratio "
              f"{median(login, 'big', 'switch', 0) / median(login, 'small', 'switch', 0):.2f}x"
              f"  (goal within 16 ms: {'met' if gap <= 16 else 'NOT met'})")
        for mode, what in (("switch", "switching to it in a running app"),
                           ("start", "a fresh app starting on it")):
            bare = statistics.median(b[0] for b in bares[login, mode])
            bare_settled = statistics.median(b[1] for b in bares[login, mode])
            print(f"{what}: bare Textual screen with {widgets[login]} widgets in five columns: "
                  f"first frame {bare * 1000:.1f} ms, settled {bare_settled * 1000:.1f} ms")
            for label, count in (("small", args.small), ("big", args.big)):
                painted = median(login, label, mode, 0)
                ratio = painted / bare
                settled = median(login, label, mode, 1) / bare_settled
                verdict = f"(goal <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'})" \
                    if mode == "switch" else "(the last round's measure)"
                print(f"  board at {count:,} open leads: first frame {painted * 1000:.1f} ms, "
                      f"{ratio:.2f}x the bare screen {verdict}; settled {settled:.2f}x")
    shown = statistics.median(m[0] for m in moves)
    stored = statistics.median(m[1] for m in moves)
    print(f"card move on the {args.big:,} board (superadmin): shown in {shown * 1000:.1f} ms, "
          f"stored and recounted in {stored * 1000:.1f} ms")

if __name__ == "__main__":
    main()
