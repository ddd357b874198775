"""The lead list's row source: the generic paged rows plus each row's tags with their
colours, the lead types' custom fields shown as columns, and a mark on the user's own leads
with mail he has not seen."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from crm_tui.i18n import N_
from crm_tui.services import mail_seen
from crm_tui.services.context import Session
from crm_tui.services.leads import list_columns, tag_chips_of
from crm_tui.services.rows import Column, RecordRows, Row

#: Put before the name of a lead of the user's with mail he has not seen yet.
NEW_MAIL_MARK = "✉ "

#: The lead list's own columns. With the marks prefix the first six fill an 80-cell terminal
#: exactly (the rest scroll in whole, never a header cut at the edge); the widths leave
#: room for the longer headers of other languages.
LEAD_COLUMNS = (
    Column("full_name", N_("Name"), 17),
    Column("company_name", N_("Company"), 13),
    Column("status_name", N_("Status"), 12, translated=True),
    Column("owner", N_("Owner"), 8),
    Column("estimated_sale", N_("Est. sale"), 12, "right"),
    Column("tags", N_("Tags"), 11),
    Column("country", N_("Country"), 10),
    Column("channel", N_("Channel"), 10),
)


def lead_list_columns(session: Session) -> list[Column]:
    """The list's columns: the fixed ones, then the custom fields marked visible."""
    extra = [Column(f"custom.{c['name']}", c["name"], 12,
                    "right" if c["kind"] == "numeric" else "left")
             for c in list_columns(session)]
    return [*LEAD_COLUMNS, *extra]


class LeadRows(RecordRows):
    """Leads counted and paged like any kind, remembering each row's tags and colours."""

    def __init__(self, session: Session, filters: dict[str, str] | None = None,
                 columns: Sequence[Column] | None = None, *, probe: int | None = None,
                 sort: str | None = None) -> None:
        """Create the source (no query runs until `count()` or `page()`); with `probe`,
        `count()` stops there so the first rows paint at once; `sort` is one of the list's
        orders (see `RecordRows`)."""
        super().__init__(session, "lead", filters, columns or LEAD_COLUMNS, probe=probe,
                         sort=sort)
        self._chips_lock = threading.Lock()
        self._chips: dict[int, list[tuple[str, str]]] = {}

    def page(self, offset: int, limit: int) -> list[Row]:
        """A page of rows; the tags of new rows are read with it (one query), and the
        user's leads with unseen mail are marked (one query over the page's ids)."""
        rows = self._mark_new_mail(super().page(offset, limit))
        with self._chips_lock:
            missing = [row_id for row_id, _ in rows if row_id not in self._chips]
        if missing:
            chips = tag_chips_of(missing)
            with self._chips_lock:
                for row_id in missing:
                    self._chips[row_id] = chips.get(row_id, [])
        return rows

    def _mark_new_mail(self, rows: list[Row]) -> list[Row]:
        keys = [column.key for column in self.columns()]
        if "full_name" not in keys or not rows:
            return rows
        # Read for every page, not cached: opening a lead clears its mark.
        unseen = mail_seen.unseen_of(self.session, [row_id for row_id, _ in rows])
        if not unseen:
            return rows
        at = keys.index("full_name")
        return [(row_id, cells[:at] + (NEW_MAIL_MARK + cells[at],) + cells[at + 1:])
                if row_id in unseen and at < len(cells) else (row_id, cells)
                for row_id, cells in rows]

    def tag_chips(self, row_id: int) -> list[tuple[str, str]]:
        """The row's tags as (name, colour), in the order the Tags cell lists them."""
        with self._chips_lock:
            return list(self._chips.get(row_id, ()))
