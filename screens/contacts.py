"""Screen 2: contacts — people at companies; full name, email and company are required."""

from __future__ import annotations

from crm_tui.i18n import N_
from screens.record_list import RecordListScreen


class ContactsScreen(RecordListScreen):
    """Every contact the user may see, searchable by name, email or phone."""

    KIND = "contact"
    CSV_KIND = "contacts"
    SCREEN_TITLE = N_("2 Contacts")
    FILTER_HINT = N_("name, email or phone, or company=… position=…")
    EMPTY_TEXT = N_("No contacts")
    AUTO_FOCUS = "#records"

    def open_record(self, record_id: int) -> None:
        """Show the contact's detail screen (e edits it from the list)."""
        from screens.contact_detail import ContactDetailScreen

        self.app.push_screen(
            ContactDetailScreen(self.session, record_id, on_change=self.records_changed))
