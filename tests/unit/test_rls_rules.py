"""The row-level security rules of crm_tui.rls cover every kind and every table."""

from __future__ import annotations

from crm_tui import rls


def test_every_kind_has_a_rule_for_the_records_named_by_kind():
    """History, attachments and search words name records by kind: each kind is a data
    kind with its own rule, a catalogue (CR reads it) or left to superadmins."""
    from crm_tui.services.records import kind_names

    data = {"company", "contact", "contract", "invoice", "lead", "mail-template"}
    superadmins_only = {"user", "profile"}
    assert set(kind_names()) == data | set(rls.CATALOGUE_KINDS) | superadmins_only
    text = rls.Rules('"public"').record("k", "1")
    for kind in data:
        assert f"WHEN '{kind}' THEN" in text


def test_every_table_of_the_models_has_rules_or_a_reason():
    from crm_tui.models import ALL_MODELS

    rules = rls.policies('"public"')
    for model in ALL_MODELS:
        table = model._meta.table_name
        assert table in rules or table in rls.ALLOW_LIST, table
        if table in rules:
            assert "select" in rules[table], table
    assert set(rls.NOT_FORCED) <= set(rules)


def test_the_field_rules_name_columns_and_tables_that_exist():
    """crm_tui.rls_fields compares columns by name: a renamed column must not slip by."""
    from crm_tui import rls_fields
    from crm_tui.models import ALL_MODELS, Invoice

    tables = {model._meta.table_name for model in ALL_MODELS}
    assert set(rls_fields.TRIGGERS) <= tables
    columns = {field.column_name for field in Invoice._meta.sorted_fields}
    for group in (rls_fields.ISSUED_OPEN, rls_fields.ISSUE_WRITES, rls_fields.SEAL,
                  rls_fields.NEVER_EDITED, rls_fields.LOCK):
        assert set(group) <= columns, group
