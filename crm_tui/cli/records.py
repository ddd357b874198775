"""`crm list|show|add|set|delete KIND …`: the record commands every kind shares."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator

import click

from crm_tui.cli.output import (
    print_json,
    print_json_stream,
    print_jsonl,
    print_record,
    print_table,
    print_table_pages,
)
from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import _, kind_name

KIND_NAMES = ("company", "contact", "contract", "invoice", "lead", "user", "profile", "role",
              "field", "section", "contract-type", "lead-type", "tag", "template",
              "mail-template")

#: The columns `crm list KIND` prints without --json.
TABLE_COLUMNS = {
    "company": ["id", "name", "country", "manager", "parent"],
    "contact": ["id", "full_name", "email", "company"],
    "contract": ["id", "name", "contract_number", "company", "date_end", "status_name"],
    "invoice": ["id", "bill_id", "state", "type", "status", "company", "created", "currency",
                "total", "locked"],
    "lead": ["id", "full_name", "email", "company_name", "status_name", "owner",
             "estimated_sale"],
    "user": ["id", "login", "real_name", "company", "profiles", "superadmin"],
    "profile": ["id", "name", "bits"],
    "field": ["id", "name", "kind", "entity", "options"],
    "tag": ["id", "name", "colour"],
    "mail-template": ["id", "name", "language", "subject"],
}

kind_argument = click.argument("kind", type=click.Choice(KIND_NAMES))


def parse_assignments(pairs: tuple[str, ...], what: str = "FIELD=VALUE") -> dict[str, str]:
    """`name=value` words into a dict; a word without `=` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.UsageError(_("expected {what}, got {pair!r}").format(what=what, pair=pair))
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


def read_json_input(source: str) -> dict:
    """A JSON object from a file or `-` (stdin).

    Raises:
        ValidationFailed: unreadable file or not a JSON object.
    """
    try:
        text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()
    except OSError as error:
        raise ValidationFailed.one("input", "--json", source,
                                   error.strerror or str(error)) from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ValidationFailed.one("input", "--json", source,
                                   _("not JSON: {reason}").format(reason=error)) from None
    if not isinstance(data, dict):
        raise ValidationFailed.one("input", "--json", source, _("must be a JSON object"))
    data.pop("id", None)
    return data


def _values(pairs: tuple[str, ...], json_source: str | None) -> dict:
    if json_source and pairs:
        raise click.UsageError(_("give FIELD=VALUE pairs or --json, not both"))
    if json_source:
        return read_json_input(json_source)
    return parse_assignments(pairs)


@click.command("list")
@kind_argument
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line.")
@click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help="Narrow the list (names, emails and companies match word starts, accents "
                   "and case aside; other text fields match a part, others exactly).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many records.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many records.")
@pass_state
def list_command(state: CliState, kind, as_json, as_jsonl, filters, limit, offset) -> None:
    """List the records of KIND that the acting user may see.

    Without --limit the records are read and printed a page at a time, in constant memory.
    """
    from crm_tui.services.records import get_kind

    if as_json and as_jsonl:
        raise click.UsageError(_("give --json or --jsonl, not both"))
    session = state.session()
    columns = TABLE_COLUMNS.get(kind, ["id", "name"])
    wanted = parse_assignments(filters)
    if limit is None:
        rows = get_kind(kind).stream(session, wanted, offset=offset)
        if as_jsonl:
            print_jsonl(rows)
        elif as_json:
            print_json_stream(rows)
        else:
            print_table_pages(_text_pages(session, kind, rows), columns)
        return
    rows = get_kind(kind).list(session, wanted, limit=limit, offset=offset)
    if as_jsonl:
        print_jsonl(rows)
    elif as_json:
        print_json(rows)
    else:
        from crm_tui.services.references import text_rows

        print_table(readable(kind, text_rows(session, kind, rows)), columns)


def _text_pages(session, kind: str, rows: Iterator[dict], page: int = 500) -> Iterator[dict]:
    """Streamed rows as a text face shows them, a page at a time: a hidden reference reads
    "(not visible)", as in `print_table`'s rows."""
    from crm_tui.services.references import text_rows

    while chunk := list(itertools.islice(rows, page)):
        yield from readable(kind, text_rows(session, kind, chunk))


#: The columns whose values are the services' words, per kind (else "status_name").
WORD_COLUMNS = {"invoice": ("state", "type", "status")}


def readable(kind: str, rows: list[dict]) -> list[dict]:
    """Rows for a table: amounts, dates, times and status names as the user reads them (his
    language, the local time zone), as the screens show them; --json and CSV keep the plain
    forms."""
    from crm_tui.services import stored_lines
    from crm_tui.services.records import get_kind
    from crm_tui.services.rows import cell_text
    from crm_tui.services.words import service_word

    kinds = {f.name: f.kind for f in get_kind(kind).fields
             if f.kind in ("decimal", "date", "datetime")}
    for row in rows:
        for name in WORD_COLUMNS.get(kind, ("status_name",)):
            if isinstance(row.get(name), str) and row[name]:
                # A word the services name (a default lead status, an invoice's status) in
                # his language.
                row[name] = service_word(row[name])
        for entry in row.get("activity") or ():
            if isinstance(entry, dict) and entry.get("text"):
                # The CRM's own timeline lines, written in English, in his language.
                entry["text"] = stored_lines.readable(entry["text"])
        for name, field_kind in kinds.items():
            value = row.get(name)
            if value not in (None, "") and not isinstance(value, list | dict):
                row[name] = cell_text(value, field_kind)
    return rows


def _record_ref(kind: str, record_id: str | None, bill_id: str | None):
    """What names the record: RECORD_ID, or for an invoice --bill-id (a bill ID that may be
    all digits; a plain integer is always the record id)."""
    if bill_id is not None:
        if kind != "invoice":
            raise click.UsageError(_("--bill-id names invoices only"))
        from crm_tui.cli.invoice import invoice_ref

        return invoice_ref(record_id, bill_id)
    if record_id is None:
        raise click.UsageError(_("missing RECORD_ID"))
    return record_id


def followed(session, kind: str, record_id):
    """The record a KIND ID names, following a merge: an id merged away names the record it
    was merged into (said on stderr, so a script's output stays the same)."""
    from crm_tui.services.merging import MERGEABLE, follow

    if kind not in MERGEABLE:
        return record_id
    found, merged_from = follow(session, kind, record_id)
    if merged_from is not None:
        click.echo(f"crm: {kind} {merged_from} was merged into {kind} {found}; "
                   f"using {kind} {found}", err=True)
    return found


bill_id_option = click.option(
    "--bill-id", "bill_id", metavar="BILL_ID",
    help="Invoices: name it by bill ID, even one that is all digits (an integer RECORD_ID "
         "is always the record id).")


@click.command("show")
@kind_argument
@click.argument("record_id", required=False)
@bill_id_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def show_command(state: CliState, kind, record_id, bill_id, as_json) -> None:
    """Show one record of KIND (an invoice also by bill ID: crm show invoice 15/1000)."""
    from crm_tui.services.records import get_kind

    record_id = _record_ref(kind, record_id, bill_id)
    session = state.session()
    if kind == "invoice":
        from crm_tui.services.invoices import find

        row = find(session, record_id)
    elif kind in ("company", "contact", "lead"):
        row = _merged_aware(session, kind, record_id)
    else:
        row = get_kind(kind).get(session, record_id)
    if kind == "company":
        from crm_tui.services.companies import activity

        row["notes"] = activity(session, row["id"])
    if as_json:
        print_json(row)
    else:
        from crm_tui.services.references import text_rows

        print_record(readable(kind, text_rows(session, kind, [row]))[0])


def _merged_aware(session, kind: str, record_id: str) -> dict:
    """The record, or the one it was merged into (saying so on stderr)."""
    from crm_tui.services.merging import follow, merged_into
    from crm_tui.services.records import get_kind

    found, merged_from = follow(session, kind, record_id)
    if merged_from is not None:
        click.echo(_("crm: {kind} {merged_from} was merged into {kind} {found}; "
                     "showing {kind} {found}").format(kind=kind, merged_from=merged_from,
                                                      found=found), err=True)
    elif (target := merged_into(kind, found)) is not None:
        click.echo(_("crm: {kind} {found} was merged into {kind} {target}; it is kept "
                     "archived with the invoices issued to it").format(
                         kind=kind, found=found, target=target), err=True)
    return get_kind(kind).get(session, found)


@click.command("add")
@kind_argument
@click.argument("assignments", nargs=-1, metavar="FIELD=VALUE…")
@click.option("--json", "json_source", metavar="FILE|-", help="Read the fields from JSON.")
@click.option("--no-duplicates", is_flag=True,
              help="Company, contact, lead: refuse (exit 1, nothing written) when the record "
                   "resembles an existing one.")
@pass_state
def add_command(state: CliState, kind, assignments, json_source, no_duplicates) -> None:
    """Add a record of KIND; prints its id.

    A company, contact or lead that resembles an existing one (same email; a lead also by
    company and name; a company by name or fiscal id) is still added, with one warning line
    per match on stderr, unless --no-duplicates is given.
    """
    from crm_tui.services import duplicates
    from crm_tui.services.records import get_kind

    values = _values(assignments, json_source)
    session = state.session()
    if kind not in duplicates.KINDS:
        if no_duplicates:
            raise click.UsageError(_("--no-duplicates applies to {kinds}").format(
                kinds=", ".join(duplicates.KINDS)))
        click.echo(get_kind(kind).create(session, values))
        return
    new_id, found = duplicates.create(session, kind, values, refuse=no_duplicates)
    for duplicate in found:
        click.echo(_("crm: warning: the new {kind} resembles {duplicate}").format(
            kind=kind, duplicate=duplicate.describe()), err=True)
    click.echo(new_id)


@click.command("set")
@kind_argument
@click.argument("record_id", required=False)
@click.argument("assignments", nargs=-1, metavar="FIELD=VALUE…")
@bill_id_option
@click.option("--json", "json_source", metavar="FILE|-", help="Read the fields from JSON.")
@click.option("--if-unchanged-since", "since", metavar="TIME",
              help="Refuse (exit 1) when a field being set was changed after TIME (UTC).")
@pass_state
def set_command(state: CliState, kind, record_id, assignments, bill_id, json_source,
                since) -> None:
    """Change fields of a record of KIND."""
    from crm_tui.services import values as V
    from crm_tui.services.records import get_kind

    if bill_id is not None and record_id is not None and "=" in record_id:
        # With --bill-id, the first word is already a FIELD=VALUE.
        assignments, record_id = (record_id, *assignments), None
    record_id = _record_ref(kind, record_id, bill_id)
    values = _values(assignments, json_source)
    if not values:
        raise click.UsageError(_("nothing to change: give FIELD=VALUE pairs or --json"))
    try:
        unchanged_since = V.parse_datetime(since) if since else None
    except V.BadValue as error:
        raise ValidationFailed.one(f"{kind} {record_id}", "--if-unchanged-since", since,
                                   str(error)) from None
    session = state.session()
    record_id = followed(session, kind, record_id)
    get_kind(kind).update(session, record_id, values, unchanged_since=unchanged_since)


@click.command("delete")
@kind_argument
@click.argument("record_id", required=False)
@bill_id_option
@click.option("--force", is_flag=True,
              help="Delete a catalogue entry that records use (superadmins).")
@pass_state
def delete_command(state: CliState, kind, record_id, bill_id, force) -> None:
    """Delete a record of KIND.

    A catalogue entry (role, field, section, contract-type, lead-type, tag, template,
    mail-template) that records use is deleted only with --force, by a superadmin, or by a
    user who may change every record that uses it.
    """
    from crm_tui.services.catalogue import CatalogueKind
    from crm_tui.services.records import get_kind

    record_id = _record_ref(kind, record_id, bill_id)
    target = get_kind(kind)
    if force and not isinstance(target, CatalogueKind):
        raise click.UsageError(_("--force applies to catalogue entries, not to {kind}").format(
            kind=kind))
    session = state.session()
    _refuse_merged_away(session, kind, record_id)
    if isinstance(target, CatalogueKind):
        target.delete(session, record_id, force=force)
    else:
        target.delete(session, record_id)


def _refuse_merged_away(session, kind: str, record_id) -> None:
    """A delete never follows a merge: the id a script holds may be one merged away, and the
    record kept from that merge is not the one it meant to delete."""
    from crm_tui.errors import Conflict
    from crm_tui.services.merging import MERGEABLE, follow

    if kind not in MERGEABLE:
        return
    found, merged_from = follow(session, kind, record_id)
    if merged_from is not None:
        raise Conflict(_("{kind} {merged_from} was merged into {kind} {found}; nothing was "
                         "deleted (delete {kind} {found} itself if that is what you mean)").format(kind=kind_name(kind), merged_from=merged_from, found=found))


@click.command("init")
@click.option("--superadmin", "superadmin", metavar="LOGIN",
              help="When no enabled superadmin is left: create or promote LOGIN to one. "
                   "Only root, or on SQLite the OS owner of the database file; on "
                   "PostgreSQL only root.")
@click.option("--os-login", "link_os_login", metavar="NAME",
              help="With --superadmin: link LOGIN to this OS account (default: yours, when "
                   "LOGIN has no link yet).")
@pass_state
def init_command(state: CliState, superadmin, link_os_login) -> None:
    """Create or upgrade the schema and make sure a new database has its admin.

    With --superadmin LOGIN (run as root, or as the OS owner of the SQLite file) it names a
    new superadmin when none is enabled, e.g. after the last one left; the password comes
    from CRM_NEW_PASSWORD, or a prompt on a terminal (empty: none).
    """
    import os

    from crm_tui import db
    from crm_tui.services.database import open_and_prepare, target_for

    if link_os_login and not superadmin:
        raise click.UsageError(_("--os-login goes with --superadmin"))
    target = target_for(state.db_target, state.demo)
    applied = open_and_prepare(target, admin=superadmin is None)
    for name in applied:
        click.echo(_("applied {name}").format(name=name), err=True)
    if superadmin is not None:
        from crm_tui.services.users import may_recover_superadmin, recover_superadmin

        password = os.environ.get("CRM_NEW_PASSWORD")
        if password is None and sys.stdin.isatty() and may_recover_superadmin():
            password = click.prompt(_("Password for {login} (empty: none)").format(
                                        login=superadmin),
                                    hide_input=True, default="", show_default=False,
                                    err=True, confirmation_prompt=_("Repeat the password")
                                    ) or None
        _user, notes = recover_superadmin(superadmin, password=password or None,
                                          link_os_login=link_os_login)
        for note in notes:
            click.echo(note, err=True)
    click.echo(_("database ready: {target}").format(target=db.redact(target)), err=True)


COMMANDS = [list_command, show_command, add_command, set_command, delete_command, init_command]
