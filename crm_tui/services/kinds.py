"""Imports every kind module so that each registers itself by name."""

from __future__ import annotations

import crm_tui.services.companies
import crm_tui.services.contacts
import crm_tui.services.contracts
import crm_tui.services.custom_fields
import crm_tui.services.invoices
import crm_tui.services.leads
import crm_tui.services.templates
import crm_tui.services.users  # noqa: F401

#: The kinds in the order `crm` lists them.
KIND_NAMES = ("company", "contact", "contract", "invoice", "lead", "user", "profile", "role",
              "field", "section", "contract-type", "lead-type", "tag", "template",
              "mail-template")
