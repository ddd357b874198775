"""The lines the CRM writes itself into timelines and notes (status changes, merges,
forwarded mail): stored in English, since every reader sees the same record, and shown in
each reader's language; what people wrote stays as written."""

from __future__ import annotations

import re

from crm_tui.i18n import N_, Said, said
from crm_tui.services.settings import status_label

STORED_LINES = (
    N_("status {old} -> {new}"), N_("Reason: {reason}"), N_("owner {old} -> {new}"),
    N_("tag {name} added"), N_("tag {name} removed"), N_("Forwarded to {address}"),
    N_("Subject: {subject}"), N_("Created from mail of {address}: {subject}"),
    N_("Created from mail of {address}"), N_("Converted into company #{id} {name}"),
    N_("merged lead #{id} {name} into this lead"), N_("(none)"),
    N_("Merged {record} (#{id}); its differing values:"),
    N_("Merged a new submission of this {kind}; its differing values:"),
    N_("company {old} -> {new}"), N_("lead type {old} -> {new}"), N_("(not visible)"),
)
"""The English lines, with `{name}` for what varies."""


_STATUS_LINE = re.compile(r"status (?P<old>.*?) -> (?P<new>.*)", re.DOTALL)
"""A status change (`STORED_LINES`' first): its names are status names, a default one read
in the reader's language."""


def readable(text: str) -> str:
    """A timeline entry's or note's text as the reader reads it, line by line."""
    return "\n".join(_readable_line(line) for line in (text or "").split("\n"))


def _readable_line(line: str) -> str:
    found = _STATUS_LINE.fullmatch(line)
    if found:
        return said(Said(STORED_LINES[0], old=status_label(found["old"]),
                         new=status_label(found["new"])))
    return said(line, STORED_LINES)
