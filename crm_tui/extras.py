"""Optional parts installed as extras (`crm-tui[postgres]`, `crm-tui[intake]`), and the check."""

from __future__ import annotations

import importlib

from crm_tui.errors import CrmError

#: The modules each extra brings, as `pyproject.toml` lists them.
EXTRA_MODULES = {
    "postgres": ("psycopg",),
    "intake": ("starlette", "uvicorn"),
}

#: What each extra is for, in the message that names it.
EXTRA_PURPOSE = {
    "postgres": "PostgreSQL support",
    "intake": "the web-form intake",
}


class MissingExtra(CrmError):
    """An optional part the user asked for is not installed (exit 1, nothing done)."""


def require_extra(extra: str) -> None:
    """Import the modules of `extra`, or raise one line naming the extra to install.

    Raises:
        MissingExtra: a module of the extra cannot be imported.
    """
    for module in EXTRA_MODULES[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtra(
                f"{EXTRA_PURPOSE[extra]} is not installed ({module} is missing): install the "
                f"extra crm-tui[{extra}] (from a checkout: pip install '.[{extra}]')"
            ) from None
