"""PostgreSQL's driver is loaded when a PostgreSQL database is opened, not at every start.

peewee imports psycopg as it loads, and psycopg brings asyncio, ssl and its own error
tables: most of a `crm` command's start-up on SQLite, the default, where it is never used.
Importing this module first (the `crm` command does) loads peewee with psycopg hidden;
`attach` gives peewee the driver when a postgresql:// target is opened. Where psycopg was
imported before peewee (tests, scripts), peewee found it itself and `attach` does nothing.
"""

from __future__ import annotations

import sys


def _load_peewee_without_psycopg() -> None:
    if "peewee" in sys.modules or "psycopg" in sys.modules:
        return
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import peewee  # noqa: F401
    finally:
        del sys.modules["psycopg"]


def attach() -> None:
    """Give peewee psycopg 3, as it would have taken it had psycopg been imported first.

    These are the names peewee's psycopg 3 support reads (peewee 4); a PostgreSQL test
    run through the `crm` command fails if they change.
    """
    import peewee

    if peewee.psycopg is not None:
        return
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.types.json import Json, Jsonb

    peewee.psycopg = psycopg
    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN


_load_peewee_without_psycopg()
