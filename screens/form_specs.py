"""The field specs of a `FieldForm` built from the services' plain form descriptions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_tui.i18n import _


def specs_from(descriptions: Iterable[dict[str, Any]], session: Any = None) -> list[Any]:
    """FieldSpecs for a FieldForm from the services' plain form descriptions (their labels,
    help and sections written in English, shown in the user's language).

    A reference field (`picker`) searches through `pickers.choices` as `session`'s user; a
    field with fixed `choices` (a lead's status) narrows them as the user types.
    """
    from functools import partial

    from crm_tui.services import pickers
    from widgets.field_form import FieldSpec
    from widgets.ref_picker import fixed_search

    specs = []
    for d in descriptions:
        options = d.get("options") or ()
        if isinstance(options, list):
            options = [tuple(o) if isinstance(o, list | tuple) else o for o in options]
        search = None
        if d.get("picker") and session is not None:
            search = partial(pickers.choices, session, d["picker"], d["key"])
        elif d.get("choices"):
            search = fixed_search([tuple(c) for c in d["choices"]])
        specs.append(FieldSpec(
            key=d["key"], label=_(d.get("label", d["key"])), kind=d.get("kind", "text"),
            required=bool(d.get("required")), options=options, value=d.get("value") or "",
            help=_(d.get("help", "")), section=_(d.get("section", "")), search=search,
        ))
    return specs

