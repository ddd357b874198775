"""The system-wide config file (`/etc/crm_tui/config.toml`, or `CRM_CONFIG`): read and checked here only."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from crm_tui.errors import ValidationFailed

SYSTEM_CONFIG = Path("/etc/crm_tui/config.toml")
"""Where `crm setup shared` writes the config every operator's `crm` reads."""

#: The keys the file may hold, and what each must be.
KEYS = {
    "data_dir": "an absolute directory path",
    "database": "an absolute SQLite file path or a postgresql:// URL",
    "secrets_file": "an absolute file path",
    "shared": "true or false",
    "group": "a group name",
}
_GROUP_RE = re.compile(r"[a-z_][a-z0-9_.-]{0,31}\$?", re.IGNORECASE)


@dataclass(frozen=True)
class SystemConfig:
    """What the system config says; every field is None (or False) when not set."""

    path: Path
    """The file read (it may not exist)."""
    data_dir: Path | None = None
    database: str | None = None
    secrets_file: Path | None = None
    shared: bool = False
    group: str | None = None


def config_path() -> Path:
    """The system config file: `CRM_CONFIG`, else `/etc/crm_tui/config.toml`."""
    override = os.environ.get("CRM_CONFIG")
    return Path(override) if override else SYSTEM_CONFIG


_cache: dict[tuple[str, float | None], SystemConfig] = {}


def load() -> SystemConfig:
    """Read and check the system config (a missing file is an empty config).

    Raises:
        ValidationFailed: the file cannot be read, is not TOML, or holds a bad value;
            one line naming the file, the key and the value.
    """
    path = config_path()
    try:
        mtime: float | None = path.stat().st_mtime
    except FileNotFoundError:
        mtime = None
    except OSError as exc:
        raise _bad(path, "file", str(path), f"cannot be read: {exc.strerror}") from None
    cached = _cache.get((str(path), mtime))
    if cached is not None:
        return cached
    config = SystemConfig(path) if mtime is None else _parse(path)
    _cache.clear()
    _cache[(str(path), mtime)] = config
    return config


def _bad(path: Path, key: str, value: object, reason: str) -> ValidationFailed:
    return ValidationFailed.one(f"config {path}", key, str(value), reason)


def _parse(path: Path) -> SystemConfig:
    import tomllib

    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise _bad(path, "file", str(path), f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _bad(path, "file", str(path), f"not valid TOML: {exc}") from None
    for key, value in raw.items():
        if key not in KEYS:
            raise _bad(path, key, value, "unknown key (known: " + ", ".join(KEYS) + ")")
    return SystemConfig(
        path=path,
        data_dir=_absolute(path, raw, "data_dir"),
        database=_database(path, raw),
        secrets_file=_absolute(path, raw, "secrets_file"),
        shared=_flag(path, raw, "shared"),
        group=_group(path, raw),
    )


def _text(path: Path, raw: dict, key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n\0"):
        raise _bad(path, key, value, f"must be {KEYS[key]}")
    return value.strip()


def _absolute(path: Path, raw: dict, key: str) -> Path | None:
    value = _text(path, raw, key)
    if value is None:
        return None
    if not os.path.isabs(value):
        raise _bad(path, key, value, f"must be {KEYS[key]}")
    return Path(value)


def _database(path: Path, raw: dict) -> str | None:
    value = _text(path, raw, "database")
    if value is None:
        return None
    if "://" in value:
        if not value.startswith(("postgresql://", "postgres://")):
            raise _bad(path, "database", value, f"must be {KEYS['database']}")
        return value
    if not os.path.isabs(value):
        raise _bad(path, "database", value, f"must be {KEYS['database']}")
    return value


def _flag(path: Path, raw: dict, key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _bad(path, key, value, f"must be {KEYS[key]}")
    return value


def _group(path: Path, raw: dict) -> str | None:
    value = _text(path, raw, "group")
    if value is not None and not _GROUP_RE.fullmatch(value):
        raise _bad(path, "group", value, f"must be {KEYS['group']}")
    return value


def render(*, data_dir: Path, group: str, secrets_file: Path | None = None,
           database: str | None = None) -> str:
    """The text of a system config for a shared data dir (what `crm setup shared` writes)."""
    lines = ["# crm_tui system config: every operator's `crm` reads it (written by",
             "# `crm setup shared`; CRM_CONFIG points at another file).",
             f"data_dir = {toml_string(str(data_dir))}",
             "shared = true",
             f"group = {toml_string(group)}"]
    if database:
        lines.append(f"database = {toml_string(database)}")
    if secrets_file:
        lines.append(f"secrets_file = {toml_string(str(secrets_file))}")
    return "\n".join(lines) + "\n"


def toml_string(value: str) -> str:
    """A TOML basic string (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
