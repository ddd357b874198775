"""Setting up a data dir shared by a group of operators on one host (`crm setup shared`)."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crm_tui import config, db, paths
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import _

DEFAULT_SHARED_DATA_DIR = Path("/var/lib/crm_tui")
"""Where the shared data dir goes when neither --data-dir nor the system config names one."""

DATABASE_NAME = "crm.sqlite3"


@dataclass(frozen=True)
class SharedSetup:
    """What `setup_shared` did."""

    data_dir: Path
    database: str
    config_file: Path
    group: str
    migrations: list[str]


def group_id(group: str) -> int:
    """The id of an existing group.

    Raises:
        ValidationFailed: no such group.
    """
    import grp

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ValidationFailed.one("setup shared", "group", group,
                                   _("no such group: create it first (groupadd)")) from None


def setup_shared(group: str, data_dir: Path | None = None,
                 database: str | None = None) -> SharedSetup:
    """Make a data dir owned by root:`group` (setgid `2770`, files `0660`), create or upgrade
    its database, and write the system config that points every operator's `crm` at it.

    Run by root, once (running it again fixes the modes and upgrades the schema).

    Raises:
        PermissionDenied: not run as root.
        ValidationFailed: no such group, or a path that cannot be used.
        ServerUnreachable: the database cannot be opened.
    """
    if os.geteuid() != 0:
        raise PermissionDenied(_("crm setup shared must be run as root (it makes a directory "
                                 "owned by root and the group)"))
    gid = group_id(group)
    if data_dir is None:
        data_dir = config.load().data_dir or DEFAULT_SHARED_DATA_DIR
    data_dir = Path(os.path.abspath(data_dir))
    if data_dir.exists() and not data_dir.is_dir():
        raise ValidationFailed.one("setup shared", "data-dir", str(data_dir),
                                   _("exists and is not a directory"))
    _make_reachable(data_dir.parent)
    data_dir.mkdir(exist_ok=True)
    _share(data_dir, gid)
    for sub in ("files", "quarantine"):
        (data_dir / sub).mkdir(exist_ok=True)
    target = database or str(data_dir / DATABASE_NAME)
    if not db.is_url(target):
        paths.create_file(Path(target))
    _share_tree(data_dir, gid)
    from crm_tui.services.database import open_and_prepare

    old_umask = os.umask(0o007)
    try:
        applied = open_and_prepare(target)
    finally:
        db.close_database()
        os.umask(old_umask)
    # The migrations may have made the -wal/-shm files (and files/ entries): the group's too.
    _share_tree(data_dir, gid)
    config_file = config.config_path()
    _write_config(config_file, config.render(
        data_dir=data_dir, group=group,
        database=_without_password(target) if db.is_url(target) else None,
        secrets_file=config.load().secrets_file if config_file.exists() else None))
    return SharedSetup(data_dir, db.redact(target), config_file, group, applied)


def _without_password(url: str) -> str:
    """The URL for a config every operator reads: no password (each operator signs in as
    his own role, with ~/.pgpass or the server's peer authentication)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _make_reachable(path: Path) -> None:
    """Make missing directories on the way `0755`: every operator must pass through them
    (the `crm` process itself runs with a private umask)."""
    old_umask = os.umask(0o022)
    try:
        path.mkdir(parents=True, exist_ok=True)
    finally:
        os.umask(old_umask)


def _share(path: Path, gid: int) -> None:
    """root:group and the shared mode (directories `2770`, files `0660`)."""
    os.chown(path, 0, gid, follow_symlinks=False)
    if path.is_symlink():
        return
    mode = paths.SHARED_DIR_MODE if path.is_dir() else paths.SHARED_FILE_MODE
    os.chmod(path, mode)


def _share_tree(root: Path, gid: int) -> None:
    for directory, dirs, files in os.walk(root):
        base = Path(directory)
        _share(base, gid)
        for name in files:
            _share(base / name, gid)
        # Symbolic links are not followed: nothing outside the data dir changes owner.
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]


def _write_config(path: Path, text: str) -> None:
    """Write the system config whole (readable by every operator, written by root only)."""
    _make_reachable(path.parent)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
