"""The field rules in the PostgreSQL server: which columns of a row an operator role may
change (row-level security decides rows, these triggers columns) — invoices by their state,
a company's manager's company, and history, which changes only by erasing personal data.

They mirror the service layer (`services.invoices`, `services.invoice_lock`,
`services.invoice_issue`, `acl.invoice_edit_refusal`), which keeps its own checks and
clear messages; the server is the last guard for a role that writes directly (`psql`):

- an issued invoice changes only its payment status, payment date and internal note (IW
  or IM), and its lock; its lines and discounts never change; it is never deleted;
- a Submitted draft is edited only with IM; IW locks it, or issues it (number, issue
  date, lock and seal, nothing else), and writes its lines only in the transaction that
  creates it (a new draft with its lines, a credit note);
- a new invoice is a draft: no issue date, number, seal or lock;
- only IM unlocks; a lock is taken by the one who holds it.

A company keeps its manager's company (`services.companies`: the access rule reads it), and
a history row changes only where `crm privacy erase` scrubs a contact's or lead's personal
values (`services.privacy`). The owner of the tables and CRM superadmins are not restricted,
as with row-level security.
"""

from __future__ import annotations

import peewee

from crm_tui.models.invoices import ISSUED_CHANGEABLE

#: What an issued invoice may still change (its fields are columns of the same names),
#: with its stamp of the last change.
ISSUED_OPEN = (*ISSUED_CHANGEABLE, "updated")
#: What issuing a draft writes (invoice_issue._issue_in_transaction, invoice_chain.seal).
ISSUE_WRITES = ("issued", "bill_id", "bill_number", "bill_series", "updated")
#: The seal of an issued record (invoice_chain.seal), written once, when it is issued.
SEAL = ("chain_seq", "prev_hash", "chain_hash")
#: Columns that no edit of a draft or Received invoice writes (issuing and sealing do).
NEVER_EDITED = ("issued", "bill_number", "bill_series", "credit_of_id", *SEAL)
#: The lock's columns, ruled apart (lock: IW or IM; unlock: IM).
LOCK = ("locked", "locked_by_id")

#: The trigger function of each table this module guards.
TRIGGERS = {"invoice": "crm_acl_fields_invoice",
            "invoice_line": "crm_acl_fields_invoice_amounts",
            "invoice_discount": "crm_acl_fields_invoice_amounts",
            "company": "crm_acl_fields_company",
            "history": "crm_acl_fields_history"}


def _array(names: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]::text[]"


def _refuse(message: str) -> str:
    """A PL/pgSQL statement raising "insufficient privilege" (exit 3 on the command line);
    `message` is SQL text of type text."""
    return ("RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
            f"MESSAGE = 'permission denied: ' || {message};")


def _functions(s: str) -> list[str]:
    """The trigger functions, in schema `s` (quoted)."""
    plpgsql = "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp"
    has_im = f"(SELECT {s}.crm_acl_has('IM'))"
    uid = f"(SELECT {s}.crm_acl_uid())"
    label = "'invoice ' || OLD.id"
    return [
        # Whether a row version was written by the current transaction (or one of its
        # savepoints): a row we see whose writer is still in progress is our own. The
        # 32-bit xmin is widened to the 64-bit id nearest the current one.
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_written_here(x xid) RETURNS boolean
            LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
            WITH t AS (SELECT pg_current_xact_id()::text::bigint AS cur)
            SELECT coalesce(pg_xact_status((cur + mod(x::text::bigint - mod(cur, 4294967296)
                                                      + 6442450944, 4294967296)
                                            - 2147483648)::text::xid8) = 'in progress',
                            false)
            FROM t
        $$""",
        # The columns whose values differ between two versions of a row.
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_changed(old_row jsonb, new_row jsonb)
            RETURNS text[] LANGUAGE sql IMMUTABLE
            SET search_path = pg_catalog, pg_temp AS $$
            SELECT coalesce(array_agg(n.key ORDER BY n.key), ARRAY[]::text[])
            FROM jsonb_each(new_row) n LEFT JOIN jsonb_each(old_row) o ON o.key = n.key
            WHERE n.value IS DISTINCT FROM o.value
        $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_fields_invoice() RETURNS trigger
            {plpgsql} AS $$
        DECLARE
            changed text[];
            others text[];
            refused text;
        BEGIN
            IF (SELECT {s}.crm_acl_unrestricted()) THEN
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END IF;
            IF TG_OP = 'INSERT' THEN
                IF NEW.issued IS NOT NULL OR NEW.bill_number IS NOT NULL
                   OR NEW.chain_seq IS NOT NULL OR NEW.chain_hash IS NOT NULL
                   OR NEW.prev_hash IS NOT NULL OR NEW.locked OR NEW.locked_by_id IS NOT NULL
                THEN
                    {_refuse("'a new invoice is a draft (not issued, numbered, sealed or "
                             "locked): it is issued with crm invoice issue'")}
                END IF;
                RETURN NEW;
            END IF;
            IF TG_OP = 'DELETE' THEN
                IF OLD.issued IS NOT NULL THEN
                    {_refuse(label + " || ' is issued: an issued invoice is never deleted'")}
                END IF;
                RETURN OLD;
            END IF;
            changed := {s}.crm_acl_changed(to_jsonb(OLD), to_jsonb(NEW));
            -- The lock: taken by the one who holds it, released only with IM.
            IF changed && {_array(LOCK)} THEN
                IF NOT OLD.locked AND NEW.locked THEN
                    IF NEW.locked_by_id IS DISTINCT FROM {uid} THEN
                        {_refuse(label + " || ': a lock is taken by its holder'")}
                    END IF;
                ELSIF OLD.locked AND NOT NEW.locked THEN
                    IF NOT {has_im} OR NEW.locked_by_id IS NOT NULL THEN
                        {_refuse(label + " || ': only IM unlocks an invoice'")}
                    END IF;
                ELSE
                    {_refuse(label + " || ': a lock is taken by its holder'")}
                END IF;
            END IF;
            others := ARRAY(SELECT unnest(changed) EXCEPT SELECT unnest({_array(LOCK)}));
            IF OLD.issued IS NOT NULL THEN
                refused := (SELECT string_agg(c, ', ' ORDER BY c) FROM unnest(others) c
                            WHERE c <> ALL({_array(ISSUED_OPEN)})
                              AND NOT (c = ANY({_array(SEAL)}) AND OLD.chain_seq IS NULL));
                IF refused IS NOT NULL THEN
                    {_refuse(label + " || ' is issued: only status, paid_on and internal_note"
                             " change (not ' || refused || '); correct it with a credit "
                             "note'")}
                END IF;
            ELSIF NEW.issued IS NOT NULL THEN
                -- Issuing a draft: its number, date, lock and seal, nothing else.
                refused := (SELECT string_agg(c, ', ' ORDER BY c) FROM unnest(others) c
                            WHERE c <> ALL({_array((*ISSUE_WRITES, *SEAL))})
                               OR (c = 'bill_id' AND OLD.bill_id IS NOT NULL));
                IF OLD.type <> 'submitted' OR refused IS NOT NULL THEN
                    {_refuse(label + " || ': issuing changes only its number, issue date, "
                             "lock and seal (not ' || coalesce(refused, 'type') || ')'")}
                END IF;
                IF NOT NEW.locked OR NEW.locked_by_id IS DISTINCT FROM {uid}
                   OR (OLD.locked AND OLD.locked_by_id IS DISTINCT FROM {uid}) THEN
                    {_refuse(label + " || ': an issued invoice is locked by whoever issues "
                             "it'")}
                END IF;
            ELSE
                refused := (SELECT string_agg(c, ', ' ORDER BY c) FROM unnest(others) c
                            WHERE c = ANY({_array(NEVER_EDITED)}));
                IF refused IS NOT NULL THEN
                    {_refuse(label + " || ': ' || refused || ' change only by issuing it'")}
                END IF;
                -- A Submitted draft (or an invoice made one) is edited only with IM; IW
                -- locks and issues it.
                IF (OLD.type = 'submitted' OR NEW.type = 'submitted') AND NOT {has_im}
                   AND (cardinality(others) > 0 OR cardinality(changed) = 0) THEN
                    {_refuse("'invoice ' || OLD.id || ': Submitted invoices are edited "
                             "only with IM'")}
                END IF;
            END IF;
            RETURN NEW;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_fields_invoice_amounts() RETURNS trigger
            {plpgsql} AS $$
        DECLARE
            targets integer[];
            target integer;
            inv record;
        BEGIN
            IF (SELECT {s}.crm_acl_unrestricted()) THEN
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END IF;
            IF TG_OP = 'INSERT' THEN
                targets := ARRAY[NEW.invoice_id];
            ELSIF TG_OP = 'DELETE' THEN
                targets := ARRAY[OLD.invoice_id];
            ELSE
                targets := ARRAY[OLD.invoice_id, NEW.invoice_id];
            END IF;
            FOREACH target IN ARRAY targets LOOP
                SELECT i.type, i.issued, i.locked, i.xmin AS version INTO inv
                FROM {s}.invoice i WHERE i.id = target;
                -- An invoice out of sight: row-level security refuses the row.
                CONTINUE WHEN NOT FOUND;
                IF inv.issued IS NOT NULL THEN
                    {_refuse("'invoice ' || target || ' is issued: its ' || "
                             "replace(TG_TABLE_NAME, 'invoice_', '') || "
                             "'s never change; correct it with a credit note'")}
                END IF;
                IF inv.type = 'submitted' AND NOT {has_im}
                   AND (inv.locked OR NOT {s}.crm_acl_written_here(inv.version)) THEN
                    {_refuse("'invoice ' || target || ': Submitted invoices are edited "
                             "only with IM'")}
                END IF;
            END LOOP;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$""",
    ]


def _other_functions(s: str) -> list[str]:
    """The trigger functions of companies and history, in schema `s` (quoted)."""
    from crm_tui.services.privacy import ERASED, PERSONAL_FIELDS

    plpgsql = "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp"
    free = f"(SELECT {s}.crm_acl_unrestricted())"
    kinds = ", ".join(f"'{k}'" for k in PERSONAL_FIELDS)
    personal = ", ".join(f"'{k}:{f}'" for k, fields in PERSONAL_FIELDS.items() for f in fields)
    erased = ERASED.replace("'", "''")
    return [
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_company_of(manager integer) RETURNS integer
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            SELECT u.company_id FROM {s}."user" u WHERE u.id = manager
        $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_fields_company() RETURNS trigger
            {plpgsql} AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            IF {free} THEN RETURN NEW; END IF;
            IF (TG_OP = 'INSERT' OR NEW.manager_id IS DISTINCT FROM OLD.manager_id
                OR NEW.manager_company_id IS DISTINCT FROM OLD.manager_company_id)
               AND NEW.manager_company_id IS DISTINCT FROM
                   {s}.crm_acl_company_of(NEW.manager_id) THEN
                {_refuse("'company ' || coalesce(NEW.id::text, '(new)') || "
                         "': manager_company_id is the company its manager belongs to'")}
            END IF;
            RETURN NEW;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_fields_history() RETURNS trigger
            {plpgsql} AS $$
        DECLARE
            changed text[];
            name text;
            after jsonb;
            before jsonb;
        BEGIN
            IF TG_OP <> 'UPDATE' OR {free} THEN
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END IF;
            changed := {s}.crm_acl_changed(to_jsonb(OLD), to_jsonb(NEW));
            IF changed <> ARRAY['changes'] OR OLD.kind NOT IN ({kinds})
               OR ARRAY(SELECT jsonb_object_keys(NEW.changes::jsonb) ORDER BY 1)
                  IS DISTINCT FROM ARRAY(SELECT jsonb_object_keys(OLD.changes::jsonb)
                                         ORDER BY 1) THEN
                {_refuse("'history ' || OLD.id || ': history changes only where crm privacy "
                         "erase forgets personal values'")}
            END IF;
            FOR name, after IN SELECT key, value FROM jsonb_each(NEW.changes::jsonb) LOOP
                before := OLD.changes::jsonb -> name;
                CONTINUE WHEN after = before;
                -- A personal value (or a custom one) may only be forgotten.
                IF NOT (OLD.kind || ':' || name = ANY(ARRAY[{personal}])
                        OR starts_with(name, 'custom.'))
                   OR after IS DISTINCT FROM (
                       SELECT jsonb_agg(CASE WHEN v = 'null'::jsonb THEN v
                                        ELSE to_jsonb('{erased}'::text) END ORDER BY n)
                       FROM jsonb_array_elements(before) WITH ORDINALITY AS e(v, n)) THEN
                    {_refuse("'history ' || OLD.id || ': history changes only where crm "
                             "privacy erase forgets personal values'")}
                END IF;
            END LOOP;
            RETURN NEW;
        END $$""",
    ]


def install(db: peewee.Database, s: str) -> None:
    """(Re)create the field rules' functions and triggers in schema `s` (quoted)."""
    for statement in (*_functions(s), *_other_functions(s)):
        db.execute_sql(statement)
    for table, function in TRIGGERS.items():
        q = f"{s}.\"{table}\""
        db.execute_sql(f"DROP TRIGGER IF EXISTS crm_acl_fields ON {q}")
        db.execute_sql(f"CREATE TRIGGER crm_acl_fields BEFORE INSERT OR UPDATE OR DELETE "
                       f"ON {q} FOR EACH ROW EXECUTE FUNCTION {s}.{function}()")


def uninstall(db: peewee.Database, s: str) -> None:
    """Drop the triggers and functions (migration down)."""
    for table in TRIGGERS:
        db.execute_sql(f"DROP TRIGGER IF EXISTS crm_acl_fields ON {s}.\"{table}\"")
    for name in (*{f"{f}()" for f in TRIGGERS.values()}, "crm_acl_company_of(integer)",
                 "crm_acl_changed(jsonb, jsonb)", "crm_acl_written_here(xid)"):
        db.execute_sql(f"DROP FUNCTION IF EXISTS {s}.{name}")
