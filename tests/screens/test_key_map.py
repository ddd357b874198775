"""The key map, as the user meets it: on every screen and dialog (reached by keys, at 80x24)
no key has two jobs, and the jobs every screen shares have the same key and the same binding
id everywhere (so that one `[keymap]` override moves the job on every screen)."""

from __future__ import annotations

from typing import Any

import pytest

from crm_tui.demo import DemoSizes, generate
from screens.keymap import SHARED_IDS, SHARED_JOBS
from tests.screens.crm_app_helpers import SIZE, RecordingApp, press, settle

# (name, keys from the companies screen, the screen they end on): every screen and the
# dialogs their keys open.
ROUTES = [
    ("companies", (), "CompaniesScreen"),
    ("companies list", ("v",), "CompaniesScreen"),
    ("company detail", ("enter",), "CompanyDetailScreen"),
    ("company contacts tab", ("enter", "right_square_bracket"), "CompanyDetailScreen"),
    ("company note", ("enter", "a"), "NoteModal"),
    ("company attach", ("enter", "t"), "ServiceFormModal"),
    ("company history", ("enter", "H"), "HistoryModal"),
    ("company merge", ("enter", "M"), "MergePickerModal"),
    ("new company", ("n",), "NewRecordModal"),
    ("edit company", ("v", "e"), "RecordFormModal"),
    ("delete company", ("v", "d"), "ConfirmModal"),
    ("import companies", ("i",), "ImportCsvModal"),
    ("export companies", ("x",), "ExportCsvModal"),
    ("contacts", ("2",), "ContactsScreen"),
    ("contact detail", ("2", "enter"), "ContactDetailScreen"),
    ("new contact", ("2", "n"), "NewRecordModal"),
    ("contracts", ("3",), "ContractsScreen"),
    ("contract detail", ("3", "enter"), "ContractDetailScreen"),
    ("contract files tab", ("3", "enter", "right_square_bracket"), "ContractDetailScreen"),
    ("contract attach", ("3", "enter", "t"), "ServiceFormModal"),
    ("contract templates", ("3", "t"), "AdminScreen"),
    ("contract types", ("3", "y"), "AdminScreen"),
    ("invoices", ("4",), "InvoicesScreen"),
    ("invoice detail", ("4", "enter"), "InvoiceDetailScreen"),
    ("leads", ("5",), "LeadsScreen"),
    ("lead search", ("5", "f"), "LeadSearchModal"),
    ("lead mass edit", ("5", "m"), "MassEditModal"),
    ("lead detail", ("5", "enter"), "LeadDetailScreen"),
    ("lead note", ("5", "enter", "a"), "LeadNoteModal"),
    ("lead attach", ("5", "enter", "t"), "AttachPathModal"),
    ("pipeline", ("6",), "PipelineScreen"),
    ("pipeline status", ("6", "g"), "StatusPickModal"),
    ("statistics", ("7",), "StatisticsScreen"),
    ("settings", ("8",), "SettingsScreen"),
    ("mail", ("9",), "MailScreen"),
    ("admin", ("0",), "AdminScreen"),
    ("admin status names", ("0", "left_square_bracket"), "AdminScreen"),
    ("admin new user", ("0", "n"), "RecordFormModal"),
    ("admin edit user", ("0", "e"), "RecordFormModal"),
    ("admin delete user", ("0", "d"), "DeleteEntryModal"),
    ("admin rename status", ("0", "left_square_bracket", "e"), "StatusNameModal"),
    ("help", ("question_mark",), "HelpScreen"),
]

#: Action names that do one of the shared jobs (whatever screen declares them).
JOB_OF_ACTION = {
    "next_tab": "next tab", "previous_tab": "previous tab",
    "attach_file": "attach", "add_note": "add note",
    "save": "save", "submit": "save", "send": "save", "confirm": "save",
    "open_record": "open", "open_contact": "open", "open_invoice": "open",
    "read_message": "open", "open_card": "open", "select_row": "open",
    "back": "back", "cancel": "back", "close": "back",
    "filter": "search",
    "new_record": "new", "new_template": "new", "new_type": "new", "new_lead": "new",
    "edit_record": "edit", "edit_company": "edit", "edit_contact": "edit",
    "edit_contract": "edit", "edit_invoice": "edit", "edit_lead": "edit",
    "edit_template": "edit",
    "delete_record": "delete", "delete_company": "delete", "delete_contact": "delete",
    "delete_contract": "delete", "delete_invoice": "delete", "delete_template": "delete",
    "delete_type": "delete", "discard": "delete",
    "show_history": "history",
    "merge_company": "merge", "merge_contact": "merge", "merge_lead": "merge",
    "save_file": "save file",
    "cycle_sort": "sort", "cycle_order": "sort",
}

#: Bindings whose action reads like a shared job but is a job of their own (escape in the
#: filter bar clears the filter).
OWN_JOB_IDS = {"filter_bar.close"}

#: Keys that may also go back (DESIGN: `q` back, quit at the top).
ALSO_BACK = {"q"}

#: A widget's own binding that does the job of the project's binding shadowing it (the
#: table's enter selects the row, which the screen opens).
SAME_JOB = {("open_record", "select_row"), ("open_contact", "select_row"),
            ("open_invoice", "select_row"), ("open_record", "select_cursor")}


def dispatch_order(screen: Any) -> dict[str, list[tuple[Any, Any, bool | None]]]:
    """Per key, the active bindings (not hidden by check_action) in the order Textual tries
    them: priority bindings from the app down, then the others from the focused widget up."""
    app = screen.app
    chain = screen._modal_binding_chain
    order: dict[str, list[tuple[Any, Any, bool | None]]] = {}
    for priority, nodes in ((True, list(reversed(chain))), (False, chain)):
        for node, bindings in nodes:
            for key, binding in bindings:
                if binding.priority != priority:
                    continue
                state = app._check_action_state(binding.action, node)
                if state is False:
                    continue
                order.setdefault(key, []).append((node, binding, state))
    return order


def key_problems(screen: Any) -> list[str]:
    """Keys with two jobs here, and shared jobs on another key than the key map's."""
    problems = []
    for key, tried in dispatch_order(screen).items():
        runs = next((b for _n, b, state in tried if state), None)
        for node, binding, _state in tried:
            # Only the project's keys are promised to the user (every one has an id); a
            # widget's own key that one of them overrides is the override meant.
            if runs is None or binding.action == runs.action or binding.id is None:
                continue
            if (runs.action, binding.action) in SAME_JOB or (
                    binding.action, runs.action) in SAME_JOB:
                continue
            problems.append(f"{key!r}: {type(node).__name__} says {binding.action} "
                            f"({binding.id}), but {runs.action} ({runs.id}) runs")
        for node, binding, _state in tried:
            job = JOB_OF_ACTION.get(binding.action.rpartition(".")[2].partition("(")[0])
            if job is None or binding.id is None:
                continue
            if binding.id in OWN_JOB_IDS or (job == "back" and key in ALSO_BACK):
                continue
            if key != SHARED_JOBS[job]:
                problems.append(f"{key!r}: {type(node).__name__} {binding.action} "
                                f"({binding.id}) is '{job}', whose key is {SHARED_JOBS[job]!r}")
            if binding.id != SHARED_IDS[job]:
                # One id per job, so that `[keymap]` moves it on every screen at once.
                problems.append(f"{key!r}: {type(node).__name__} {binding.action} "
                                f"({binding.id}) is '{job}', whose id is {SHARED_IDS[job]!r}")
    return problems


def project_bindings_without_id(screen: Any) -> list[str]:
    """Bindings declared by the project (screens, widgets, the app) that have no id."""
    missing = []
    for node, _bindings in screen._modal_binding_chain:
        for cls in type(node).__mro__:
            if cls.__module__.split(".")[0] not in ("screens", "widgets", "crm_tui"):
                continue
            for binding in cls.__dict__.get("BINDINGS", ()):
                if getattr(binding, "id", None) is None:
                    missing.append(f"{cls.__name__}: {binding}")
    return missing


@pytest.fixture
def demo(admin):
    generate(DemoSizes(companies=8, contacts=12, contracts=4, invoices=6, leads=12, seed=3))
    return admin


@pytest.mark.parametrize(("name", "keys", "ends_on"), ROUTES,
                         ids=[name for name, _keys, _end in ROUTES])
async def test_one_key_one_job_and_shared_jobs_share_keys(demo, name, keys, ends_on):
    app = RecordingApp(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in keys:
            await press(pilot, key)
        screen = app.screen
        assert type(screen).__name__ == ends_on
        problems = key_problems(screen)
        problems += project_bindings_without_id(screen)
        if len(app.screen_stack) > 1:
            # Every detail screen and dialog goes back with escape.
            runs = next((b for _n, b, state in dispatch_order(screen).get("escape", [])
                         if state), None)
            if runs is None or JOB_OF_ACTION.get(runs.action.partition("(")[0]) != "back":
                problems.append(f"escape does not go back ({runs and runs.action})")
        assert not problems, f"{name} ({type(screen).__name__}):\n" + "\n".join(problems)
        assert not app.said("", "error")
        if len(app.screen_stack) > 1:
            depth = len(app.screen_stack)
            await press(pilot, "escape")
            assert len(app.screen_stack) == depth - 1 and screen not in app.screen_stack


def test_the_check_sees_a_key_with_two_jobs():
    # The check itself: a screen binding shadowed by the focused widget's is named.
    from textual.app import App
    from textual.binding import Binding
    from textual.widgets import Input

    class Clash(App[None]):
        BINDINGS = [Binding("ctrl+d", "delete_saved", "Delete saved", id="x.delete"),
                    Binding("ctrl+f", "attach_file", "Attach", id="x.attach")]

        def compose(self):
            yield Input()

    async def run() -> list[str]:
        app = Clash()
        async with app.run_test():
            return key_problems(app.screen)

    import asyncio

    problems = asyncio.run(run())
    assert any("ctrl+d" in p and "delete_right" in p for p in problems), problems
    assert any("'attach', whose key is 't'" in p for p in problems), problems
    assert any("'attach', whose id is 'attach'" in p for p in problems), problems
