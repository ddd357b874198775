"""The key map (DESIGN "Keys"): the keys and binding ids of the jobs every screen shares, and
the check of the user's `[keymap]` overrides before they are applied.

A job shared by several screens and dialogs has ONE binding id everywhere, so that an
override (`add-note = "n"`) moves it on every screen that has it; a screen's own job keeps
an id of its own (`pipeline.won`), which moves only that key. tests/screens/test_key_map.py
holds the screens to both.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator, Mapping
from typing import Any

from crm_tui.i18n import _

NEXT_TAB = "right_square_bracket"
"""`]` shows the next tab."""
PREVIOUS_TAB = "left_square_bracket"
"""`[` shows the previous tab."""
ATTACH = "t"
"""Attach a file to the record on view."""
ADD_NOTE = "a"
"""Add a note to the record on view."""
SAVE = "ctrl+s"
"""Save (send, confirm) the form or dialog on view."""
OPEN = "enter"
"""Open the row under the cursor."""
BACK = "escape"
"""Go back from a detail screen, close a dialog."""
SEARCH = "slash"
"""Search (filter) the list on view."""
NEW = "n"
"""Create a record (of the list on view)."""
EDIT = "e"
"""Edit the record under the cursor or on view."""
DELETE = "d"
"""Delete the record under the cursor or on view (asks first)."""
HISTORY = "H"
"""Who changed what, and when."""
MERGE = "M"
"""Merge a duplicate into the record on view."""
SAVE_FILE = "w"
"""Save a copy of one of the record's files on this machine."""
SORT = "o"
"""Cycle the sort (lists and board alike)."""

SHARED_JOBS: dict[str, str] = {
    "next tab": NEXT_TAB,
    "previous tab": PREVIOUS_TAB,
    "attach": ATTACH,
    "add note": ADD_NOTE,
    "save": SAVE,
    "open": OPEN,
    "back": BACK,
    "search": SEARCH,
    "new": NEW,
    "edit": EDIT,
    "delete": DELETE,
    "history": HISTORY,
    "merge": MERGE,
    "save file": SAVE_FILE,
    "sort": SORT,
}
"""Job -> its key, everywhere."""

SHARED_IDS: dict[str, str] = {job: job.replace(" ", "-") for job in SHARED_JOBS}
"""Job -> its binding id, everywhere (`next-tab`, `add-note`…): what `[keymap]` names."""

NEXT_TAB_ID = SHARED_IDS["next tab"]
PREVIOUS_TAB_ID = SHARED_IDS["previous tab"]
ATTACH_ID = SHARED_IDS["attach"]
ADD_NOTE_ID = SHARED_IDS["add note"]
SAVE_ID = SHARED_IDS["save"]
OPEN_ID = SHARED_IDS["open"]
BACK_ID = SHARED_IDS["back"]
SEARCH_ID = SHARED_IDS["search"]
NEW_ID = SHARED_IDS["new"]
EDIT_ID = SHARED_IDS["edit"]
DELETE_ID = SHARED_IDS["delete"]
HISTORY_ID = SHARED_IDS["history"]
MERGE_ID = SHARED_IDS["merge"]
SAVE_FILE_ID = SHARED_IDS["save file"]
SORT_ID = SHARED_IDS["sort"]

#: The packages whose screens, dialogs and widgets declare the project's keys.
PACKAGES = ("screens", "widgets")


def _normalized(keys: str) -> list[str]:
    """`?,F1` -> ["question_mark", "f1"], as Textual names keys in a key map."""
    from textual.keys import _character_to_key

    return [_character_to_key(key) if len(key) == 1 else key
            for key in (part.strip() for part in keys.split(",")) if key]


def key_owners() -> Iterator[type[Any]]:
    """Every class of the project's screens, dialogs and widgets that declares keys."""
    from textual.dom import DOMNode

    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            module = importlib.import_module(info.name)
            for cls in vars(module).values():
                if (inspect.isclass(cls) and issubclass(cls, DOMNode)
                        and cls.__module__ == module.__name__ and "BINDINGS" in cls.__dict__):
                    yield cls


def _bindings(cls: type[Any]) -> list[Any]:
    """The bindings a node of `cls` has (its bases' too, as Textual merges them)."""
    return [binding for bindings in cls._merge_bindings().key_to_bindings.values()
            for binding in bindings]


def checked(keymap: Mapping[str, str], app_class: type[Any],
            where: str = "") -> tuple[dict[str, str], list[str]]:
    """The overrides of `keymap` that may be applied, and one line per refused one.

    An override is refused, keeping the default key, when no key has that id, or when its
    new key already does another job where the moved key lives (its screen, dialog or
    widget, or the app's keys that work everywhere); for the app's own keys, on any screen.
    """
    owners = [app_class, *key_owners()]
    by_class = {cls: _bindings(cls) for cls in owners}
    app_bindings = by_class[app_class]
    wanted = {binding_id: _normalized(keys) for binding_id, keys in keymap.items()}

    def keys_of(binding: Any) -> list[str]:
        return wanted.get(binding.id) or _normalized(binding.key)

    accepted: dict[str, str] = {}
    problems: list[str] = []
    prefix = f"{where}: " if where else ""
    for binding_id, keys in keymap.items():
        scopes = [bindings for cls, bindings in by_class.items()
                  if any(b.id == binding_id for b in bindings)]
        if not scopes:
            problems.append(prefix + _("keymap.{id} = {keys!r} ignored: no key has that id")
                            .format(id=binding_id, keys=keys))
            continue
        if any(b.id == binding_id for b in app_bindings):
            scopes = list(by_class.values())  # an app key works on every screen
        else:
            scopes = [[*bindings, *app_bindings] for bindings in scopes]
        clash = next((other for bindings in scopes for other in bindings
                      if other.id != binding_id
                      and set(keys_of(other)) & set(wanted[binding_id])), None)
        if clash is not None:
            default = next(b.key for bindings in scopes for b in bindings if b.id == binding_id)
            problems.append(prefix + _(
                "keymap.{id} = {keys!r} refused: {key!r} already does {job!r} ({other}) on a "
                "screen with {id}; {id} stays on {default!r}").format(
                    id=binding_id, keys=keys,
                    key=",".join(sorted(set(keys_of(clash)) & set(wanted[binding_id]))),
                    job=_(clash.description) if clash.description else clash.action,
                    other=clash.id or clash.action, default=default))
            continue
        accepted[binding_id] = keys
    return accepted, problems
