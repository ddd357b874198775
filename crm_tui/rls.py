"""The access rules of `crm_tui.acl` as PostgreSQL row-level security, and operator roles.

On PostgreSQL every operator connects as a role of his own (`crm db grant LOGIN`); the user
whose `db_role` names the session's role is the CRM user he acts as. The policies below
mirror `crm_tui.acl` rule for rule, so `psql` with that role shows exactly the rows that
`crm list` shows and changes exactly the rows that `crm set` may change. The services keep
their own checks (they give the clear messages); the server is the last guard.

What the policies need from `user`, `profile` and `user_profile` (the acting user's id,
company and bits) comes from SECURITY DEFINER functions with a pinned search_path, so an
operator role never reads another user's password hash. The owner of the schema (whoever
runs the migrations) and CRM superadmins are not restricted. `install` is idempotent: it
runs in migration 0065 and again after every later upgrade, so new tables get their rules.
"""

from __future__ import annotations

import re

import peewee

from crm_tui import rls_fields

#: Every permission bit, as `crm_tui.acl.ALL_BITS` (a superadmin holds all of them).
_ALL_BITS = ("CR", "CW", "CM", "IR", "IW", "IM", "LR", "LW", "LM")

#: Tables without row-level security, each with the reason (reviewed; a test checks that
#: every other table has it enabled and forced).
ALLOW_LIST = {
    "schema_migration": "names of applied migrations, no CRM data; operators may only read "
                        "it (to see that the schema is current)",
    "mail_worker_state": "one status row of the mail worker (when it last ran, its result "
                         "line): no CRM data, and every operator's app asks it to run",
}

#: Tables whose rules the SECURITY DEFINER functions read: RLS is enabled (operators see
#: what the policies allow) but not forced, as the functions read them as the owner and a
#: forced policy would call the very functions it is evaluated for.
NOT_FORCED = ("user", "profile", "user_profile")

#: Columns of `user` an operator role may read (the password hash is not among them).
USER_PUBLIC_COLUMNS = ("id", "login", "real_name", "email", "phone", "employee_number",
                       "language", "company_id", "os_login", "enabled", "superadmin",
                       "db_role")

#: Columns of `user` no role writes but the owner's (`crm db grant` maps roles to users).
USER_OWNER_COLUMNS = ("db_role",)

#: The kinds (services.records) whose records every user with CR may read.
CATALOGUE_KINDS = ("role", "contract-type", "lead-type", "tag", "field", "section", "template")

#: A role name `crm db grant` accepts: what PostgreSQL allows unquoted, plus . and -.
ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$")


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


# --- the acting user's facts, from SECURITY DEFINER functions --------------------------------


def _functions(s: str) -> list[str]:
    """The functions the policies call, in schema `s` (quoted)."""
    definer = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
    all_bits = ", ".join(f"'{b}'" for b in _ALL_BITS)
    return [
        # The CRM user mapped to the session's role (session_user: inside a SECURITY
        # DEFINER function current_user is the owner).
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_uid() RETURNS integer {definer} AS $$
            SELECT u.id FROM {s}."user" u WHERE u.db_role = session_user::text AND u.enabled
        $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_login() RETURNS text {definer} AS $$
            SELECT u.login::text FROM {s}."user" u WHERE u.id = {s}.crm_acl_uid()
        $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_company() RETURNS integer {definer} AS $$
            SELECT u.company_id FROM {s}."user" u WHERE u.id = {s}.crm_acl_uid()
        $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_superadmin() RETURNS boolean {definer} AS $$
            SELECT coalesce((SELECT u.superadmin FROM {s}."user" u
                             WHERE u.id = {s}.crm_acl_uid()), false)
        $$""",
        # The union of the user's profile bits, as acl.bits_of.
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_bits() RETURNS text[] {definer} AS $$
            SELECT CASE WHEN {s}.crm_acl_superadmin() THEN ARRAY[{all_bits}]
                   ELSE coalesce((SELECT array_agg(DISTINCT b)
                                  FROM {s}.user_profile up
                                  JOIN {s}.profile p ON p.id = up.profile_id,
                                  unnest(string_to_array(p.bits, ',')) AS b
                                  WHERE up.user_id = {s}.crm_acl_uid() AND b <> ''),
                                 ARRAY[]::text[]) END
        $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_has(wanted text) RETURNS boolean {definer} AS $$
            SELECT wanted = ANY({s}.crm_acl_bits())
        $$""",
        # Not a definer: current_user must be the role running the query. The owner of the
        # tables (and its members) and superadmins pass every policy.
        f"""CREATE OR REPLACE FUNCTION {s}.crm_acl_unrestricted() RETURNS boolean
            LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
            SELECT pg_has_role(current_user, (SELECT c.relowner FROM pg_class c
                                              WHERE c.oid = '{s}."user"'::regclass), 'MEMBER')
                   OR {s}.crm_acl_superadmin()
        $$""",
    ]


# --- the rules, as SQL on a row alias (mirrors of crm_tui.acl) --------------------------------


class Rules:
    """SQL texts of the access rules in schema `s`; `a` is the alias of the row checked."""

    def __init__(self, s: str):
        self.s = s
        self.uid = f"(SELECT {s}.crm_acl_uid())"
        self.company = f"(SELECT {s}.crm_acl_company())"
        self.login = f"(SELECT {s}.crm_acl_login())"

    def has(self, *bits: str) -> str:
        """The user holds any of `bits`."""
        return "(" + " OR ".join(f"(SELECT {self.s}.crm_acl_has('{b}'))" for b in bits) + ")"

    # companies (acl.company_view_expr / company_modify_expr)
    def company_view(self, a: str) -> str:
        return (f"({self.has('CR')} AND ({a}.manager_id = {self.uid} OR "
                f"({a}.parent_id IS NOT NULL AND {a}.manager_company_id = {self.company})))")

    def company_modify(self, a: str) -> str:
        return (f"({self.has('CR')} AND {self.has('CW')} AND ({a}.manager_id = {self.uid} OR "
                f"({self.has('CM')} AND {a}.parent_id IS NOT NULL "
                f"AND {a}.manager_company_id = {self.company})))")

    def _exists(self, table: str, alias: str, key: str, cond: str) -> str:
        return (f"EXISTS (SELECT 1 FROM {self.s}.{ident(table)} {alias} "
                f"WHERE {alias}.id = {key} AND {cond})")

    def visible_company(self, key: str) -> str:
        return self._exists("company", "acl_c", key, self.company_view("acl_c"))

    def modifiable_company(self, key: str) -> str:
        return self._exists("company", "acl_m", key, self.company_modify("acl_m"))

    # contacts, contracts, company notes: their company's access (services/inherited.py)
    def owned_view(self, table: str, key: str) -> str:
        return self._exists(table, f"acl_{table}", key,
                            self.visible_company(f"acl_{table}.company_id"))

    def owned_modify(self, table: str, key: str) -> str:
        return self._exists(table, f"acl_{table}w", key,
                            self.modifiable_company(f"acl_{table}w.company_id"))

    # invoices (acl.invoice_view_expr, invoice_edit_refusal, can_delete_invoice)
    def invoice_view(self, a: str) -> str:
        return (f"({self.has('CR')} AND {self.has('IR', 'IW', 'IM')} AND "
                f"{self.visible_company(f'{a}.company_id')})")

    def invoice_write(self, a: str) -> str:
        return (f"({self.has('IW', 'IM')} AND {self.modifiable_company(f'{a}.company_id')} AND "
                f"(NOT {a}.locked OR {a}.locked_by_id = {self.uid} OR {self.has('IM')}))")

    def invoice_delete(self, a: str) -> str:
        return (f"({self.has('IM')} AND {self.modifiable_company(f'{a}.company_id')} AND "
                f"(NOT {a}.locked OR {a}.locked_by_id = {self.uid}) AND {a}.issued IS NULL)")

    def invoice_of(self, key: str, write: bool = False) -> str:
        rule = self.invoice_write if write else self.invoice_view
        return self._exists("invoice", "acl_i" + ("w" if write else ""), key,
                            rule("acl_i" + ("w" if write else "")))

    # leads (acl.lead_view_expr / lead_modify_expr / can_create_lead / can_manage_leads)
    def lead_view(self, a: str, no_company: str = "IS NULL") -> str:
        return (f"({self.has('CR')} AND {self.has('LR', 'LW', 'LM')} AND "
                f"({a}.owner_id = {self.uid} OR {self.visible_company(f'{a}.company_id')} OR "
                f"({self.has('LM')} AND {a}.company_id {no_company})))")

    def lead_modify(self, a: str) -> str:
        return (f"({self.has('CR')} AND {self.has('LW', 'LM')} AND "
                f"({a}.owner_id = {self.uid} OR {self.modifiable_company(f'{a}.company_id')} OR "
                f"({self.has('LM')} AND {a}.company_id IS NULL)))")

    def lead_create(self, a: str) -> str:
        # A new lead must be one its creator may change (and so see): without a managing
        # company it is his own, unless he holds LM (services/leads.py says the same).
        return self.lead_modify(a)

    def lead_of(self, key: str, write: bool = False) -> str:
        alias = "acl_lw" if write else "acl_l"
        rule = self.lead_modify if write else self.lead_view
        return self._exists("lead", alias, key, rule(alias))

    # records named by kind and id (attachments, custom values, history, search words)
    def record(self, kind: str, key: str, write: bool = False) -> str:
        """The rule of the record `key` of `kind` (an SQL text expression)."""
        cases = {
            "company": self.modifiable_company(key) if write else self.visible_company(key),
            "contact": self.owned_modify("contact", key) if write
            else self.owned_view("contact", key),
            "contract": self.owned_modify("contract", key) if write
            else self.owned_view("contract", key),
            "invoice": self.invoice_of(key, write),
            "lead": self.lead_of(key, write),
            "mail-template": self._exists(
                "mail_template", "acl_mt", key,
                (self.mail_template_write if write else self.mail_template_view)("acl_mt")),
            "lead_activity": self._exists(
                "lead_activity", "acl_la", key, self.lead_of("acl_la.lead_id", write)),
        }
        whens = " ".join(f"WHEN '{name}' THEN {rule}" for name, rule in cases.items())
        # Catalogue records (roles, types, fields, tags, templates): readable with CR;
        # users, profiles and any other kind: superadmins only (the unrestricted clause).
        catalogue = ", ".join(f"'{name}'" for name in CATALOGUE_KINDS)
        other = (f"{kind} IN ({catalogue}) AND {self.has('CR')}"
                 + (f" AND {self.has('CM', 'LM')}" if write else ""))
        return f"(CASE {kind} {whens} ELSE ({other}) END)"

    # mail templates (services/templates.py): general ones, and those of the user's company
    def mail_template_view(self, a: str) -> str:
        return f"({self.has('CR')} AND ({a}.company_id IS NULL OR {a}.company_id = {self.company}))"

    def mail_template_write(self, a: str) -> str:
        return f"({self.mail_template_view(a)} AND {self.has('CM', 'LM')})"

    def catalogue_view(self) -> str:
        return self.has("CR")

    def catalogue_write(self, lead_bits: bool = False) -> str:
        managers = ("CM", "LM") if lead_bits else ("CM",)
        return f"({self.has('CR')} AND {self.has(*managers)})"


def policies(s: str) -> dict[str, dict[str, str]]:
    """Per table, the USING/WITH CHECK text of each command: `select`, `insert`, `update`,
    `delete` (a missing command is refused to operators)."""
    r = Rules(s)
    t = "acl_row"  # policies see the row under the table's own name; we qualify it so
    p: dict[str, dict[str, str]] = {}

    def rw(view: str, write: str, delete: str | None = None, insert: str | None = None):
        return {"select": view, "insert": insert or write, "update": write,
                "delete": delete or write}

    p["company"] = rw(r.company_view(t), r.company_modify(t))
    for table in ("contact", "contract", "company_activity"):
        p[table] = rw(r.visible_company(f"{t}.company_id"),
                      r.modifiable_company(f"{t}.company_id"))
    p["invoice"] = rw(r.invoice_view(t), r.invoice_write(t), delete=r.invoice_delete(t))
    for table in ("invoice_line", "invoice_discount"):
        p[table] = rw(r.invoice_of(f"{t}.invoice_id"), r.invoice_of(f"{t}.invoice_id", True))
    p["contract_invoice"] = rw(
        f"({r.invoice_of(f'{t}.invoice_id')} AND {r.owned_view('contract', f'{t}.contract_id')})",
        f"({r.invoice_of(f'{t}.invoice_id')} AND {r.owned_view('contract', f'{t}.contract_id')}"
        f" AND ({r.invoice_of(f'{t}.invoice_id', True)} OR "
        f"{r.owned_modify('contract', f'{t}.contract_id')}))")
    p["lead"] = rw(r.lead_view(t), r.lead_modify(t), insert=r.lead_create(t),
                   delete=f"({r.has('LM')} AND {r.lead_modify(t)})")
    # The lead tally: read under the lead rule (company and owner 0 for none); written only
    # by its triggers, which run as the owner.
    p["lead_tally"] = {"select": r.lead_view(t, no_company="= 0")}
    # A merged record's old id points at the kept one: read where the kept one may be seen.
    p["redirect"] = rw(r.record(f"{t}.kind", f"{t}.new_id"),
                       r.record(f"{t}.kind", f"{t}.new_id", True))
    for table in ("contract_billing_line", "contract_reminder", "contract_billing_run"):
        p[table] = rw(r.owned_view("contract", f"{t}.contract_id"),
                      r.owned_modify("contract", f"{t}.contract_id"))
    for table in ("lead_activity", "lead_tag", "sent_mail", "outbox_mail", "lead_unseen_mail"):
        p[table] = rw(r.lead_of(f"{t}.lead_id"), r.lead_of(f"{t}.lead_id", True))
    # Mail of no lead: unmatched mail is handled with LW or LM (services/mail_unmatched.py
    # may_handle: read, assign, make a lead); discarding it takes LM, whose role therefore
    # also reads what was discarded (an UPDATE's new row must stay visible to its author).
    unfiled = (f"({t}.lead_id IS NULL AND {r.has('CR')} AND ({r.has('LM')} OR "
               f"({r.has('LW')} AND {t}.outcome = 'unmatched')))")
    p["filed_message"] = rw(f"({r.lead_of(f'{t}.lead_id')} OR {unfiled})",
                            f"({r.lead_of(f'{t}.lead_id', True)} OR {unfiled})")
    p["attachment"] = rw(r.record(f"{t}.owner_kind", f"{t}.owner_id"),
                         r.record(f"{t}.owner_kind", f"{t}.owner_id", True))
    # A custom field's entity names the kind of its records; typed ones name the type's
    # kind (services/custom_fields.py _ENTITY_KINDS).
    field_kind = (f"(SELECT CASE f.entity WHEN 'contract_type' THEN 'contract' "
                  f"WHEN 'lead_type' THEN 'lead' ELSE f.entity END "
                  f"FROM {s}.custom_field f WHERE f.id = {t}.field_id)")
    p["custom_value"] = rw(r.record(field_kind, f"{t}.record_id"),
                           r.record(field_kind, f"{t}.record_id", True))
    # History: read where the record may be seen; written by the one who acts (the service
    # writes it in the same transaction as the change it records); scrubbed of personal
    # data (crm privacy erase) where the record may be changed; never deleted.
    p["history"] = {"select": r.record(f"{t}.kind", f"{t}.record_id"),
                    "insert": f"({t}.login = {r.login})",
                    "update": r.record(f"{t}.kind", f"{t}.record_id", True)}
    # Search words: read where the record may be seen; rewritten with every change.
    p["search_word"] = rw(r.record(f"{t}.kind", f"{t}.record_id"), r.has("CR"))
    p["import_batch"] = rw(f"({t}.login = {r.login})", f"({t}.login = {r.login})")
    p["saved_search"] = rw(f"({t}.user_id = {r.uid})", f"({t}.user_id = {r.uid})")
    for table in ("company_role", "contract_type", "contract_template", "custom_field",
                  "custom_field_section"):
        p[table] = rw(r.catalogue_view(), r.catalogue_write())
    p["mail_template"] = rw(r.mail_template_view(t), r.mail_template_write(t))
    for table in ("lead_type", "tag"):
        p[table] = rw(r.catalogue_view(), r.catalogue_write(lead_bits=True))
    # Superadmins only change these (the unrestricted clause); an operator's write of a
    # row he reads is refused aloud.
    never = {"update": "false", "delete": "false"}
    p["setting"] = {"select": "true", **never}
    p["profile"] = {"select": f"({r.has('CR')} OR EXISTS (SELECT 1 FROM {s}.user_profile up "
                              f"WHERE up.profile_id = {t}.id AND up.user_id = {r.uid}))",
                    **never}
    p["user_profile"] = {"select": f"({t}.user_id = {r.uid} OR {r.has('CR')})", **never}
    p["user"] = {"select": f"({t}.id = {r.uid} OR {r.has('CR')})", **never}
    return p


# --- installing ---------------------------------------------------------------------------------


def schema_name(db: peewee.Database) -> str:
    """The schema the CRM tables live in (the connection's current schema)."""
    return db.execute_sql("SELECT current_schema()").fetchone()[0]


def crm_tables(db: peewee.Database, schema: str) -> list[str]:
    """Every table of the schema."""
    rows = db.execute_sql("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
                          (schema,)).fetchall()
    return [name for (name,) in rows]


def install(db: peewee.Database) -> None:
    """(Re)create the functions and policies, enable and force RLS, and grant every mapped
    operator role what it needs. Safe to run again; PostgreSQL only."""
    schema = schema_name(db)
    s = ident(schema)
    for statement in _functions(s):
        db.execute_sql(statement)
    rules = policies(s)
    for table in crm_tables(db, schema):
        if table in ALLOW_LIST:
            continue
        _table_policies(db, s, table, rules.get(table, {}))
    rls_fields.install(db, s)
    for role in mapped_roles(db):
        grant_privileges(db, role)


_COMMANDS = ("select", "insert", "update", "delete")


def _table_policies(db: peewee.Database, s: str, table: str, rule: dict[str, str]) -> None:
    """Replace the table's CRM policies; a table without rules refuses every operator.

    A row the operator sees but may not change or delete is not silently skipped: the
    UPDATE and DELETE policies let every visible row through, and a trigger refuses the
    change with an error (a row he may not see stays out of reach, unnamed).
    """
    q = f"{s}.{ident(table)}"
    db.execute_sql(f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY")
    if table in NOT_FORCED:
        db.execute_sql(f"ALTER TABLE {q} NO FORCE ROW LEVEL SECURITY")
    else:
        db.execute_sql(f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY")
    free = f"(SELECT {s}.crm_acl_unrestricted())"
    guarded = "update" in rule or "delete" in rule

    def on(command: str, row: str) -> str:
        # The rules name their row acl_row: the table itself in a policy, OLD in a trigger.
        return rule.get(command, "false").replace("acl_row.", f"{row}.")

    view = on("select", ident(table))
    for command in _COMMANDS:
        name = ident(f"crm_{command}")
        db.execute_sql(f"DROP POLICY IF EXISTS {name} ON {q}")
        text = on(command, ident(table))
        if command == "insert":
            clause = f"WITH CHECK ({free} OR {text})"
        elif command == "update":
            using = view if guarded else text
            clause = f"USING ({free} OR {using}) WITH CHECK ({free} OR {text})"
        else:
            clause = f"USING ({free} OR {view if guarded and command == 'delete' else text})"
        db.execute_sql(f"CREATE POLICY {name} ON {q} FOR {command.upper()} {clause}")
    function = f"{s}.{ident('crm_acl_guard_' + table)}"
    db.execute_sql(f"DROP TRIGGER IF EXISTS crm_acl_guard ON {q}")
    if not guarded:
        db.execute_sql(f"DROP FUNCTION IF EXISTS {function}()")
        return
    refuse = ("RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = "
              f"'permission denied: the access rules forbid changing this {table} row';")
    db.execute_sql(f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            IF (SELECT {s}.crm_acl_unrestricted()) THEN
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END IF;
            IF TG_OP = 'UPDATE' AND NOT coalesce({on("update", "OLD")}, false) THEN
                {refuse}
            END IF;
            IF TG_OP = 'DELETE' THEN
                IF NOT coalesce({on("delete", "OLD")}, false) THEN {refuse} END IF;
                RETURN OLD;
            END IF;
            RETURN NEW;
        END $$""")
    db.execute_sql(f"CREATE TRIGGER crm_acl_guard BEFORE UPDATE OR DELETE ON {q} "
                   f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def mapped_roles(db: peewee.Database) -> list[str]:
    """The existing roles that a CRM user is mapped to."""
    rows = db.execute_sql('SELECT u.db_role FROM "user" u JOIN pg_roles r '
                          "ON r.rolname = u.db_role ORDER BY 1").fetchall()
    return [name for (name,) in rows]


def grant_privileges(db: peewee.Database, role: str) -> None:
    """What an operator role needs: the tables (the policies decide the rows, and let
    only superadmins write users, profiles and settings), the sequences, and of `user`
    every column but the password hash to read, every one but the role mapping to write."""
    schema = schema_name(db)
    s, r = ident(schema), ident(role)
    db.execute_sql(f"GRANT USAGE ON SCHEMA {s} TO {r}")
    for table in crm_tables(db, schema):
        q = f"{s}.{ident(table)}"
        db.execute_sql(f"REVOKE ALL ON {q} FROM {r}")
        if table == "user":
            columns = ", ".join(ident(c) for c in USER_PUBLIC_COLUMNS)
            db.execute_sql(f"GRANT SELECT ({columns}) ON {q} TO {r}")
            rows = db.execute_sql("SELECT column_name FROM information_schema.columns "
                                  "WHERE table_schema = %s AND table_name = 'user'",
                                  (schema,)).fetchall()
            writable = ", ".join(ident(c) for (c,) in rows if c not in USER_OWNER_COLUMNS)
            db.execute_sql(f"GRANT INSERT ({writable}), UPDATE ({writable}) ON {q} TO {r}")
            db.execute_sql(f"GRANT DELETE ON {q} TO {r}")
        elif table == "schema_migration":
            db.execute_sql(f"GRANT SELECT ON {q} TO {r}")
        else:
            db.execute_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {q} TO {r}")
    db.execute_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")


def revoke_privileges(db: peewee.Database, role: str) -> None:
    """Take back what `grant_privileges` gave `role` (its other rights stay)."""
    schema = schema_name(db)
    s, r = ident(schema), ident(role)
    for table in crm_tables(db, schema):
        db.execute_sql(f"REVOKE ALL ON {s}.{ident(table)} FROM {r}")
    db.execute_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}")
    db.execute_sql(f"REVOKE USAGE ON SCHEMA {s} FROM {r}")


# --- the connection ------------------------------------------------------------------------------


def connection_identity(db: peewee.Database) -> tuple[bool, int | None, str, bool]:
    """For the open PostgreSQL connection: (restricted, mapped user id, role name, settled).

    `restricted` is false for the owner of the tables (and its members), and on a database
    whose schema is not made yet (whoever connects first makes it); `settled` is false
    until the rules are installed (the answer may change with the upgrade).
    """
    row = db.execute_sql(
        "SELECT session_user::text, to_regclass('\"user\"') IS NOT NULL, "
        "to_regprocedure('crm_acl_uid()') IS NOT NULL").fetchone()
    role, has_users, has_rules = row
    if not has_users:
        return False, None, role, False
    owner = db.execute_sql(
        "SELECT pg_has_role(current_user, c.relowner, 'MEMBER') FROM pg_class c "
        "WHERE c.oid = to_regclass('\"user\"')").fetchone()[0]
    uid = db.execute_sql("SELECT crm_acl_uid()").fetchone()[0] if has_rules else None
    return (not owner), uid, role, has_rules


def uninstall(db: peewee.Database) -> None:
    """Drop the policies and functions and switch row-level security off (migration down)."""
    schema = schema_name(db)
    s = ident(schema)
    rls_fields.uninstall(db, s)
    for table in crm_tables(db, schema):
        q = f"{s}.{ident(table)}"
        for command in _COMMANDS:
            db.execute_sql(f"DROP POLICY IF EXISTS {ident(f'crm_{command}')} ON {q}")
        db.execute_sql(f"DROP TRIGGER IF EXISTS crm_acl_guard ON {q}")
        db.execute_sql(f"DROP FUNCTION IF EXISTS {s}.{ident('crm_acl_guard_' + table)}()")
        db.execute_sql(f"ALTER TABLE {q} NO FORCE ROW LEVEL SECURITY")
        db.execute_sql(f"ALTER TABLE {q} DISABLE ROW LEVEL SECURITY")
    for name in ("unrestricted()", "has(text)", "bits()", "superadmin()", "company()",
                 "login()", "uid()"):
        db.execute_sql(f"DROP FUNCTION IF EXISTS {s}.crm_acl_{name}")
