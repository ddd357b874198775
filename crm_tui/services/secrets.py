"""Secrets (SMTP and IMAP passwords, the intake token): a `0600` TOML file of the account
that runs the mail worker, never the database every operator can read. The one accessor."""

from __future__ import annotations

import os
from pathlib import Path

from crm_tui import config
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import _

SECRET_KEYS = ("mail.smtp_password", "mail.imap_password", "intake.token")
"""The settings keys whose values live in the secrets file."""

SET, NOT_SET, UNREADABLE = "(set)", "(not set)", "(secrets file not readable)"
"""What is shown instead of a secret."""


def secrets_path() -> Path:
    """The secrets file: the system config's `secrets_file`, else
    `user_config_dir("crm_tui")/secrets.toml` of the account running `crm`."""
    configured = config.load().secrets_file
    if configured is not None:
        return configured
    import platformdirs

    return Path(platformdirs.user_config_dir("crm_tui", appauthor=False)) / "secrets.toml"


def is_secret(key: str) -> bool:
    """Whether a settings key is a secret."""
    return key in SECRET_KEYS


def _read(path: Path) -> dict[str, str]:
    import tomllib

    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        # The decoder names a line and column, never the text: no secret is echoed.
        raise ValidationFailed.one(f"secrets file {path}", "file", str(path),
                                   _("not valid TOML: {exc}").format(exc=exc)) from None
    found: dict[str, str] = {}
    for section, table in raw.items():
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            key = f"{section}.{name}"
            if key in SECRET_KEYS:
                if not isinstance(value, str):
                    raise ValidationFailed.one(f"secrets file {path}", key, "***",
                                               _("must be a string"))
                found[key] = value
    return found


def read_all() -> dict[str, str]:
    """Every secret the file holds (for the mail worker and the intake).

    Raises:
        PermissionDenied: this account may not read the file.
        ValidationFailed: the file is not valid TOML.
    """
    path = secrets_path()
    try:
        return _read(path)
    except PermissionError:
        raise PermissionDenied(_("secrets file {path} is not readable by this account: run "
                                 "the mail worker as the account that owns it").format(path=path)) from None


def get(key: str) -> str:
    """One secret's value, "" when not set (the core's own use: never shown).

    Raises:
        PermissionDenied, ValidationFailed (see `read_all`).
    """
    return read_all().get(key, "")


def mail_values() -> dict[str, str]:
    """The mail secrets, under their settings keys (merged into the mail settings)."""
    return {k: v for k, v in read_all().items() if k.startswith("mail.")}


def state(key: str) -> str:
    """What to show for a secret: `(set)`, `(not set)` or that the file is unreadable."""
    try:
        return SET if read_all().get(key) else NOT_SET
    except (PermissionDenied, ValidationFailed):
        return UNREADABLE


def writable() -> bool:
    """Whether this account can replace a secret (the file and its directory allow it)."""
    path = secrets_path()
    if path.exists():
        return os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK)


def put(key: str, value: str) -> None:
    """Set (or, with "", remove) a secret; the file is written whole, `0600`.

    Raises:
        PermissionDenied: the file (or its directory) is not writable by this account.
        ValidationFailed: unknown key, or the file is not valid TOML.
    """
    if key not in SECRET_KEYS:
        raise ValidationFailed.one("secret", "key", key, _("not a secret setting"))
    path = secrets_path()
    if not writable():
        raise PermissionDenied(_("secrets file {path} is not writable by this account: set "
                                 "secrets as the account that runs the mail worker").format(path=path))
    current = read_all()
    if value:
        current[key] = value
    else:
        current.pop(key, None)
    _write(path, current)


def put_many(found: dict[str, str]) -> None:
    """Add several secrets at once, keeping those already in the file (a migration's use)."""
    path = secrets_path()
    current = read_all()
    merged = {**{k: v for k, v in found.items() if v and k in SECRET_KEYS}, **current}
    if merged != current:
        _write(path, merged)


def _write(path: Path, values: dict[str, str]) -> None:
    import tempfile  # only here: every command reads the secrets, few write them

    from crm_tui.config import toml_string

    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, mode=0o700)
    sections: dict[str, list[str]] = {}
    for key in sorted(values):
        section, name = key.split(".", 1)
        sections.setdefault(section, []).append(f"{name} = {toml_string(values[key])}")
    text = "# crm_tui secrets: readable by this account only (0600). Keys as in crm config.\n"
    text += "".join(f"\n[{section}]\n" + "\n".join(lines) + "\n"
                    for section, lines in sections.items())
    # mkstemp creates the file 0600: the secret is never readable by others, not even
    # for a moment; the rename makes the change whole.
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        _keep_owner(path, temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _keep_owner(path: Path, temp: str) -> None:
    """Root editing the worker account's file leaves it that account's (it must read it)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.chown(temp, info.st_uid, info.st_gid)
        except PermissionError:
            pass
