"""Where crm_tui keeps its files: one owner for every path, and one seam for tests."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The data directory (database, files/, quarantine/), created on first use.

    `CRM_DATA_DIR` overrides the platform default; tests always set it.
    """
    override = os.environ.get("CRM_DATA_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("crm_tui", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_path() -> Path:
    """The embedded default SQLite database file."""
    return data_dir() / "crm.sqlite3"


def demo_database_path() -> Path:
    """The database `crm --demo` opens."""
    return data_dir() / "demo.sqlite3"


def database_target(explicit: str | None = None, demo: bool = False) -> str:
    """Which database to open: --db, then the demo file, then CRM_DB, then the default file."""
    if explicit:
        return explicit
    if demo:
        return str(demo_database_path())
    return os.environ.get("CRM_DB") or str(default_database_path())


def files_dir() -> Path:
    """Where attachments are stored under generated names."""
    path = data_dir() / "files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def quarantine_dir() -> Path:
    """Raw copies of mail messages that could not be processed."""
    path = data_dir() / "quarantine"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """Where the mail worker and the intake keep their rotating logs, created on first use.

    `CRM_LOG_DIR` overrides the platform default (on Linux `~/.local/state/crm_tui/log`).
    """
    override = os.environ.get("CRM_LOG_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_log_dir("crm_tui", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
