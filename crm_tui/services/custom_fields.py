"""Custom fields and sections: their definitions and the parsing of their values."""

from __future__ import annotations

import json
from typing import Any

import peewee

from crm_tui.errors import Problem
from crm_tui.i18n import _, kind_name
from crm_tui.models import (
    FIELD_ENTITIES,
    FIELD_KINDS,
    ContractType,
    CustomField,
    CustomFieldSection,
    CustomValue,
    LeadType,
)
from crm_tui.services import values as V
from crm_tui.services.catalogue import CatalogueKind
from crm_tui.services.context import Session
from crm_tui.services.records import Field, register


def parse_custom_value(field: CustomField, raw: Any) -> str:
    """Check a custom value against its field's kind; returns the text to store.

    Raises:
        V.BadValue: the value does not fit the kind.
    """
    text = "" if raw is None else str(raw)
    if text == "":
        return ""
    kind = field.kind
    if kind == "checkbox":
        return "1" if V.parse_bool(text) else "0"
    if kind == "numeric":
        return format(V.parse_decimal(text, 6), "f")
    if kind == "date":
        # Empty and the manuals' zero date both mean "no date".
        date = V.parse_date(text)
        return "" if date is None else date.isoformat()
    if kind == "combo":
        options = field.option_data or []
        if text not in options:
            raise V.BadValue(_("must be one of {choices}").format(choices=", ".join(map(str, options))))
        return text
    if kind == "linked":
        options = field.option_data or {}
        # Forms send "parent|child", people type "parent/child": both store as the latter.
        parent, _sep, child = text.replace("|", "/").partition("/")
        if parent not in options or (child and child not in options.get(parent, [])):
            raise V.BadValue(_("must be PARENT or PARENT/CHILD from the field's options"))
        return f"{parent}/{child}" if child else parent
    if kind == "text":
        return V.parse_text(text, 1000)
    return V.parse_text(text, None, single_line=False)

def fields_of(entity: str, type_id: int | None = None) -> list[CustomField]:
    """The custom fields of an entity (and type), in CSV column order."""
    query = CustomField.select().where(CustomField.entity == entity)
    if type_id is not None:
        query = query.where(CustomField.entity_type_id == type_id)
    return list(query.order_by(CustomField.position, CustomField.id))

def field_specs(session: Session, entity: str, type_id: int | None = None) -> list[dict]:
    """Plain descriptions of the custom fields of an entity, for forms and CSV headers."""
    return [
        {
            "id": f.id,
            "name": f.name,
            "kind": f.kind,
            "options": f.option_data,
            "section": f.section.name if f.section_id else "",
            "visible": f.visible,
        }
        for f in fields_of(entity, type_id)
    ]

#: The record kind and CSV layout whose columns each custom-field entity sits beside.
_ENTITY_KINDS = {"company": ("company", "companies"), "contact": ("contact", "contacts"),
                 "contract_type": ("contract", "contracts"), "lead_type": ("lead", "leads")}


def fixed_names(entity: str) -> set[str]:
    """Names a custom field of `entity` may not take: its kind's fields and CSV columns."""
    from crm_tui.services.imports import ID_COLUMN, LAYOUTS
    from crm_tui.services.records import get_kind

    kind_name, layout_name = _ENTITY_KINDS[entity]
    layout = LAYOUTS[layout_name]
    names = {f.name for f in get_kind(kind_name).fields}
    names |= {c.name for c in layout.columns} | set(layout.derived) | {ID_COLUMN, "custom"}
    return {V.name_key(n) for n in names}


def name_taken(field: CustomField) -> str | None:
    """Why a custom field may not take its name (a fixed column or a sibling has it), or None.

    Names compare as people read them: case and Unicode forms do not make two names.
    """
    key = V.name_key(field.name)
    if key in fixed_names(field.entity):
        return _("a fixed field of this record already has that name")
    siblings = CustomField.select(CustomField.name).where(
        CustomField.entity == field.entity,
        (CustomField.entity_type_id == field.entity_type_id)
        if field.entity_type_id is not None else CustomField.entity_type_id.is_null(),
    )
    if field.id is not None:
        siblings = siblings.where(CustomField.id != field.id)
    if any(V.name_key(name) == key for (name,) in siblings.tuples()):
        return _("that entity already has a field of this name")
    return None


def _records_with_values(fields: peewee.Select, entity: str) -> tuple[str, peewee.Select]:
    """(record kind, ids of the records holding a value of one of `fields`)."""
    return (_ENTITY_KINDS[entity][0], CustomValue.select(CustomValue.record_id).where(
        CustomValue.field.in_(fields), CustomValue.value != ""))


@register
class SectionKind(CatalogueKind):
    """Custom field sections (blocks on forms)."""

    name = "section"
    model = CustomFieldSection
    fields = (Field("name", required=True, max_length=100), Field("description", "textarea"))

    def used_by(self, obj):
        # The records that fill in a field of the section show it as a block.
        entities = [e for (e,) in CustomField.select(CustomField.entity).distinct()
                    .where(CustomField.section == obj.id).tuples() if e in _ENTITY_KINDS]
        return [_records_with_values(CustomField.select(CustomField.id).where(
            CustomField.section == obj.id, CustomField.entity == entity), entity)
            for entity in entities]

@register
class FieldKind(CatalogueKind):
    """Custom field definitions."""

    name = "field"
    model = CustomField
    fields = (
        Field("name", required=True, max_length=100),
        Field("kind", "choice", required=True, choices=FIELD_KINDS),
        Field("entity", required=True, max_length=40),
        Field("section", "ref", ref="section"),
        Field("options", "textarea"),
        Field("visible", "bool"),
    )

    def parse(self, session, obj, raw, creating):
        # `entity` is "company", "contact", "contract_type:ID" or "lead_type:ID"; the model
        # keeps the type id in its own column.
        raw = dict(raw)
        entity = raw.get("entity")
        parsed, custom, problems = super().parse(session, obj, raw, creating)
        if entity is not None:
            base, _sep, type_id = str(entity).partition(":")
            obj.entity = base
            obj.entity_type_id = None
            if base not in FIELD_ENTITIES:
                problems.append(Problem(self.label(obj), "entity", str(entity), _("must be company, contact, contract_type:ID or lead_type:ID")))
            elif base in ("contract_type", "lead_type"):
                model = ContractType if base == "contract_type" else LeadType
                if not type_id.isdigit() or model.get_or_none(model.id == int(type_id)) is None:
                    problems.append(Problem(self.label(obj), "entity", str(entity),
                                            _("no such {kind}").format(kind=kind_name(base.replace("_", "-")))))
                else:
                    obj.entity_type_id = int(type_id)
            elif type_id:
                problems.append(Problem(self.label(obj), "entity", str(entity),
                                        _("{base} takes no type id").format(base=base)))
        return parsed, custom, problems

    def validate(self, session, obj, parsed, problems):
        if "options" in parsed and parsed["options"]:
            text = parsed["options"].strip()
            if obj.kind == "linked":
                try:
                    data = json.loads(text)
                    ok = isinstance(data, dict) and all(isinstance(v, list) for v in data.values())
                except ValueError:
                    ok = False
                if not ok:
                    problems.append(Problem(self.label(obj), "options", text,
                                            _('linked options are JSON: {"parent": ["child", '
                                              "…]}")))
            elif not text.startswith("["):
                # A comma-separated list is stored as JSON so values may contain commas later.
                obj.options = json.dumps([o.strip() for o in text.split(",") if o.strip()])
        if obj.kind == "combo" and not obj.option_data:
            problems.append(Problem(self.label(obj), "options", obj.options or "",
                                    _("a combo needs a list of options")))
        self._check_options(obj, problems)
        if obj.name and obj.entity in FIELD_ENTITIES:
            reason = name_taken(obj)
            if reason:
                problems.append(Problem(self.label(obj), "name", obj.name, reason))

    def _check_options(self, obj, problems):
        """Combo and linked options are checked when they are defined, not when used."""
        data = obj.option_data if obj.kind in ("combo", "linked") else None
        if not data:
            return
        names = list(data) if isinstance(data, dict) else data
        if obj.kind == "linked":
            names = [*names, *(c for children in data.values() for c in children)]
        for option in names:
            try:
                text = V.parse_text(option, 100) if isinstance(option, str) else None
            except V.BadValue as exc:
                problems.append(Problem(self.label(obj), "options", str(option), str(exc)))
                return
            if not text or text != option:
                problems.append(Problem(self.label(obj), "options", str(option),
                                        _("each option is a non-empty single line of text")))
                return
        keys = [V.name_key(o) for o in (data if isinstance(data, list) else list(data))]
        if len(set(keys)) != len(keys):
            problems.append(Problem(self.label(obj), "options", obj.options or "",
                                    _("an option is given twice")))

    def before_save(self, session, obj, created):
        if created:
            last = (CustomField.select(CustomField.position)
                    .order_by(CustomField.position.desc()).scalar())
            obj.position = (last or 0) + 1

    def used_by(self, obj):
        if obj.entity not in _ENTITY_KINDS:
            return []
        return [_records_with_values(CustomField.select(CustomField.id)
                                     .where(CustomField.id == obj.id), obj.entity)]

    def before_delete(self, session, obj):
        CustomValue.delete().where(CustomValue.field == obj.id).execute()

    def present(self, session, raw_rows):
        rows = super().present(session, raw_rows)
        by_id = {r["id"]: r for r in raw_rows}
        for row in rows:
            raw = by_id[row["id"]]
            type_id = raw.get("entity_type_id")
            row["entity"] = f"{raw['entity']}:{type_id}" if type_id else raw["entity"]
            row["section"] = raw.get("section")
        return rows

