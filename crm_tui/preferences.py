"""The user's own preferences (theme, key map) in `user_config_dir("crm_tui")/config.toml`.

The file belongs to the person, who may edit it by hand: it is read leniently (a value that
does not fit is ignored with one line saying so) and written back with tomlkit, which keeps
their comments and layout.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class Preferences:
    """What the user chose; `problems` lists what in the file was ignored, and why."""

    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def path() -> Path:
    """Where the preferences live (next to the secrets file of the same account)."""
    return Path(platformdirs.user_config_dir("crm_tui", appauthor=False)) / "config.toml"


def _clean(value: object) -> str | None:
    """A single-line text without control characters, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        return None
    return value.strip()


def load() -> Preferences:
    """Read the preferences; a missing file means none, a broken one is reported, not fatal."""
    import tomllib

    where = path()
    try:
        with where.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        return Preferences()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return Preferences(problems=(f"{where}: ignored, {exc}",))
    problems: list[str] = []
    theme = raw.get("theme")
    if theme is not None and _clean(theme) is None:
        problems.append(f"{where}: theme {theme!r} ignored: not a name")
        theme = None
    keymap: dict[str, str] = {}
    table = raw.get("keymap", {})
    if not isinstance(table, dict):
        problems.append(f"{where}: keymap ignored: not a table of binding id = \"keys\"")
        table = {}
    for binding_id, keys in table.items():
        if _clean(binding_id) is None or _clean(keys) is None:
            problems.append(f"{where}: keymap.{binding_id} = {keys!r} ignored: not a key list")
            continue
        keymap[binding_id.strip()] = str(keys).strip()
    return Preferences(theme=_clean(theme), keymap=keymap, problems=tuple(problems))


def save_theme(theme: str) -> None:
    """Remember the theme, keeping everything else in the file as the user wrote it."""
    import tomlkit

    where = path()
    try:
        document = tomlkit.parse(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = tomlkit.document()
    except (OSError, ValueError):
        # A file we cannot read back is not overwritten: the user's text is worth more.
        return
    if document.get("theme") == theme:
        return
    document["theme"] = theme
    where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(dir=where.parent, prefix=".config-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(tomlkit.dumps(document))
        os.replace(temp, where)
    except OSError:
        Path(temp).unlink(missing_ok=True)
