"""Where crm_tui keeps its files, and with which modes: one owner for every path, and one
seam for tests.

Precedence: `--db`, `CRM_DB` and `CRM_DATA_DIR` first, then the system config
(`crm_tui.config`), then the platform default. A single-user data dir is `0700` with
`0600` files; a shared one (setgid, or `shared = true` in the system config) is `2770`
with `0660` files, so every member of its group can open them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SHARED_DIR_MODE = 0o2770
SHARED_FILE_MODE = 0o660


def _system_config():
    from crm_tui import config

    return config.load()


def data_dir() -> Path:
    """The data directory (database, files/, quarantine/), created on first use.

    `CRM_DATA_DIR` overrides the system config's `data_dir`, which overrides the platform
    default; tests always set it. A new directory is created `0700` (`2770` when shared).
    """
    path = data_dir_path()
    if not path.is_dir():
        override = os.environ.get("CRM_DATA_DIR")
        make_dir(path, shared=None if override else _system_config().shared)
    return path


def data_dir_path() -> Path:
    """Where the data directory is (see `data_dir`), without creating it."""
    override = os.environ.get("CRM_DATA_DIR")
    if override:
        return Path(override)
    configured = _system_config().data_dir
    if configured is not None:
        return configured
    import platformdirs

    return Path(platformdirs.user_data_dir("crm_tui", appauthor=False))


def is_shared(directory: Path | None = None) -> bool:
    """Whether files in `directory` (default: the data dir) are shared with a group.

    A directory is shared when it carries the setgid bit (as `crm setup shared` makes it),
    or when it is the data dir and the system config says `shared = true`.
    """
    if directory is None:
        directory = data_dir_path()
        if not os.environ.get("CRM_DATA_DIR") and _system_config().shared:
            return True
    try:
        return bool(os.stat(directory).st_mode & stat.S_ISGID)
    except OSError:
        return False


def file_mode(directory: Path | None = None) -> int:
    """The mode of a new file in `directory`: `0660` when shared, else `0600`."""
    return SHARED_FILE_MODE if is_shared(directory) else PRIVATE_FILE_MODE


def process_umask(directory: Path | None = None) -> int:
    """The umask a `crm` process runs with: nothing for others, and nothing for the group
    unless the data dir is shared."""
    return 0o007 if is_shared(directory) else 0o077


def make_dir(path: Path, *, shared: bool | None = None) -> Path:
    """Create `path` (and parents) if missing; the leaf gets `0700`, or `2770` when shared.

    `shared=None` follows the parent: a directory made inside a shared one is shared.
    Parents created on the way keep the umask's modes (they may be a user's own dirs).
    """
    if path.is_dir():
        return path
    if shared is None:
        shared = is_shared(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return path  # another process made it meanwhile; its modes stand
    # mkdir's mode passes through the umask and cannot set setgid: chmod says it exactly.
    os.chmod(path, SHARED_DIR_MODE if shared else PRIVATE_DIR_MODE)
    return path


def create_file(path: Path) -> bool:
    """Create an empty file with the mode of its directory unless it exists; True if made.

    SQLite gives its -wal and -shm files the mode of the database file, so creating the
    database this way decides the mode of all three.
    """
    mode = file_mode(path.parent)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    try:
        os.fchmod(handle, mode)  # the umask may have taken bits away
    finally:
        os.close(handle)
    return True


def default_database_path() -> Path:
    """The embedded default SQLite database file."""
    return data_dir() / "crm.sqlite3"


def demo_database_path() -> Path:
    """The database `crm --demo` opens."""
    return data_dir() / "demo.sqlite3"


def database_target(explicit: str | None = None, demo: bool = False) -> str:
    """Which database to open: --db, the demo file, CRM_DB, a file in CRM_DATA_DIR, the
    system config's `database` (or its data dir's file), then the default file."""
    if explicit:
        return explicit
    if demo:
        return str(demo_database_path())
    from_env = os.environ.get("CRM_DB")
    if from_env:
        return from_env
    if not os.environ.get("CRM_DATA_DIR"):
        configured = _system_config().database
        if configured:
            return configured
    return str(default_database_path())


def files_dir() -> Path:
    """Where attachments are stored under generated names."""
    return make_dir(data_dir() / "files")


def quarantine_dir() -> Path:
    """Raw copies of mail messages that could not be processed."""
    return make_dir(data_dir() / "quarantine")


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
