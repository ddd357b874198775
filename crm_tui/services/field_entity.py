"""A custom field's entity in a form: its kind chosen from a list and, for a contract or lead
type, the type picked by name; the services keep taking "KIND" or "KIND:ID" (`crm add field`)."""

from __future__ import annotations

from typing import Any

from crm_tui.documents.templating import custom_macro
from crm_tui.i18n import N_, _
from crm_tui.services import pickers, references

#: The entities a custom field may belong to, as the form lists them.
ENTITIES = (
    ("company", N_("Company")),
    ("contact", N_("Contact")),
    ("contract_type", N_("Contract type")),
    ("lead_type", N_("Lead type")),
)
#: The entities that name a type, with the form key of its picker and its label. The key is
#: the entity's name: the picker searches `pickers.choices("field", key)`.
TYPED = {"contract_type": N_("Contract type"), "lead_type": N_("Lead type")}


def describe(session: Any, entity: dict[str, Any], current: dict[str, str],
             field_id: int | None = None) -> list[dict[str, Any]]:
    """The form's `entity` description (`forms.describe`'s shape) as the entity's kind, a
    choice that reshapes the form, followed for a typed entity by the picker of its type
    (for a saved field of a contract type, with the macro contract templates know it by).

    `current` holds the form's values: `entity` as stored ("contract_type:3"), or as the
    form sends it back while it reshapes (`entity` the kind, the type under its own key).
    """
    base, _sep, type_id = str(current.get("entity") or "").partition(":")
    if not type_id and base in TYPED:
        type_id = str(current.get(base) or "").strip()
    out = [dict(entity, kind="combo", value=base, reshapes=True,
                options=[(_(label), key) for key, label in ENTITIES])]
    if base in TYPED:
        chosen: list[tuple[str, str]] = []
        if type_id.isdigit():
            kind = pickers.FORM_REFS["field", base]
            title = references.titles(session, kind, [int(type_id)]).get(int(type_id))
            chosen = [(title or f"#{type_id}", type_id)]
        help_text = ""
        if base == "contract_type" and field_id is not None:
            help_text = _("contract templates write its value as {macro}").format(
                macro=custom_macro(field_id))
        out.append({"key": base, "label": TYPED[base], "kind": "pick", "required": True,
                    "options": chosen, "value": type_id, "help": help_text, "section": "",
                    "picker": "field"})
    return out


def joined(values: dict[str, str]) -> dict[str, str]:
    """Form values as the services take them: a typed entity and its type picker become
    `entity` "KIND:ID" (an unchosen type: "KIND:", which the services refuse)."""
    out = {key: value for key, value in values.items() if key not in TYPED}
    base = values.get("entity")
    if base in TYPED:
        out["entity"] = f"{base}:{values.get(base, '')}"
    return out


def error_key(values: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    """The form's errors with one about a typed entity shown under its type's picker."""
    base = values.get("entity")
    if base in TYPED and base in values and "entity" in errors:
        errors = dict(errors)
        errors[base] = errors.pop("entity")
    return errors
