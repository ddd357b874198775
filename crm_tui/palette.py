"""Command-palette providers (ctrl+p): switch screens, new/import/export, and go to a record.

Each hit calls the same app method a key would. Discovery is static and cheap; searching
records runs a service query on a thread, limited to a few rows.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from crm_tui.i18n import _, kind_name
from crm_tui.services import forms
from crm_tui.services.rows import find_titles

#: Kinds the palette offers, with their CSV names (None: no CSV).
KINDS: tuple[tuple[str, str], ...] = (
    ("company", "companies"),
    ("contact", "contacts"),
    ("contract", "contracts"),
    ("invoice", "invoices"),
    ("lead", "leads"),
)
#: Kinds whose CSV can be imported (invoices export only).
IMPORT_KINDS = ("companies", "contacts", "contracts", "leads")
#: Kinds "Go to …" searches, with how many hits each may add. Each search goes through
#: the kind's own query, so only records the user may see are ever offered.
GOTO_KINDS: tuple[tuple[str, int], ...] = (("company", 12), ("contact", 8), ("lead", 8))
#: Kinds "Go to …" opens by id (`#42` or `42`): an id merged away leads to the kept record.
ID_KINDS = ("company", "contact", "contract", "invoice", "lead")


class _CrmProvider(Provider):
    """Shared helpers: the app's session and its command table."""

    @property
    def crm(self) -> Any:
        """The app (a CrmApp; typed loosely to keep this module free of app imports)."""
        return self.app

    def _matches(self, query: str, items: list[tuple[str, Any, str]]) -> list[Hit]:
        matcher = self.matcher(query)
        hits = []
        for text, command, help_text in items:
            score = matcher.match(text)
            if score > 0:
                hits.append(Hit(score, matcher.highlight(text), command, text, help_text))
        return hits


class ScreensProvider(_CrmProvider):
    """"Switch to Companies" … "Switch to Settings"."""

    def _items(self) -> list[tuple[str, Any, str]]:
        return [
            (_("Switch to {title}").format(title=_(title)), partial(self.crm.action_goto, mode), _("Screen {mode} (key {mode})").format(mode=mode))
            for mode, (_module, _cls, title) in self.crm.SCREEN_TABLE.items()
        ]

    async def discover(self) -> Hits:
        """Every screen."""
        for text, command, help_text in self._items():
            yield DiscoveryHit(text, command, text, help_text)

    async def search(self, query: str) -> Hits:
        """Screens whose name matches."""
        for hit in self._matches(query, self._items()):
            yield hit


class ActionsProvider(_CrmProvider):
    """"New company…", "Import CSV…", "Export CSV…", help, mail sync and "Change password…",
    as the user's rights allow."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._creatable: set[str] = set()

    async def startup(self) -> None:
        """Ask the services once which kinds the user may create."""
        session = self.crm.session

        def creatable() -> set[str]:
            return {kind for kind, _ in KINDS if forms.permissions(session, kind)["create"]}

        self._creatable = await asyncio.to_thread(creatable)

    def _items(self) -> list[tuple[str, Any, str]]:
        app = self.crm
        items: list[tuple[str, Any, str]] = []
        for kind, _csv_kind in KINDS:
            if kind in self._creatable:
                items.append((_("New {kind}…").format(kind=kind_name(kind)), partial(app.new_record, kind),
                              _("Create a {kind}").format(kind=kind_name(kind))))
        for kind, csv_kind in KINDS:
            if csv_kind in IMPORT_KINDS and kind in self._creatable:
                items.append((_("Import CSV… ({csv_kind})").format(csv_kind=kind_name(csv_kind)), partial(app.import_csv, kind),
                              _("Import {csv_kind} from a CSV file, after a dry run").format(csv_kind=kind_name(csv_kind))))
        for kind, csv_kind in KINDS:
            items.append((_("Export CSV… ({csv_kind})").format(csv_kind=kind_name(csv_kind)), partial(app.export_csv, kind),
                          _("Export the {csv_kind} you may see").format(csv_kind=kind_name(csv_kind))))
        items.append((_("Help: keys of this screen"), app.action_help, _("The ? key")))
        items.append((_("Ask the mail worker to sync now"), app.action_sync_mail, _("The s key")))
        items.append((_("Change password…"), partial(change_password, app),
                      _("Change your own password")))
        return items

    async def discover(self) -> Hits:
        """Every action the user may take."""
        for text, command, help_text in self._items():
            yield DiscoveryHit(text, command, text, help_text)

    async def search(self, query: str) -> Hits:
        """Actions whose text matches."""
        for hit in self._matches(query, self._items()):
            yield hit


def change_password(app: Any) -> None:
    """Open the change-password dialog for the acting user."""
    from screens.modals.change_password import ChangePasswordModal

    app.push_screen(ChangePasswordModal(app.session))


class GoToProvider(_CrmProvider):
    """"Go to company: NAME" for the records whose text matches what was typed."""

    async def discover(self) -> Hits:
        """A pointer to the search (type a name)."""
        app = self.crm
        yield DiscoveryHit(_("Go to company…"), partial(app.find_records, "company"),
                           _("Go to company…"), _("Type part of a name here, or filter the list"))

    async def search(self, query: str) -> Hits:
        """Up to a few visible records per kind whose name matches (queried on a thread)."""
        text = query.strip()
        app = self.crm
        matcher = self.matcher(text)
        opener = _("Go to company…")
        score = matcher.match(opener)
        if score > 0:
            yield Hit(score, matcher.highlight(opener), partial(app.find_records, "company"),
                      opener, _("Filter the company list"))
        session = app.session
        number = text.removeprefix("#")
        if number.isdigit():
            async for hit in self._by_id(int(number), matcher):
                yield hit
        if len(text) < 2:
            return
        for kind, limit in GOTO_KINDS:
            try:
                found = await asyncio.to_thread(find_titles, session, kind, text, limit)
            except Exception:  # noqa: BLE001 - a palette search never breaks the palette
                continue
            for record_id, title in found:
                label = _("Go to {kind}: {title}").format(kind=kind_name(kind), title=title)
                # The database matched already (name, country…); rank name matches first.
                score = max(matcher.match(title), 0.05)
                yield Hit(score, matcher.highlight(label), partial(app.open_record, kind,
                                                                   record_id),
                          label, _("Open {kind} #{record_id}").format(kind=kind_name(kind),
                                                                    record_id=record_id))

    async def _by_id(self, number: int, matcher: Any) -> Hits:
        """"Go to KIND #ID" for each kind where the user may see a record of that id (or
        the record it was merged into, said in the hit and when it opens)."""
        from crm_tui.services import merging

        app = self.crm
        for kind in ID_KINDS:
            try:
                found = await asyncio.to_thread(merging.by_id, app.session, kind, number)
            except Exception:  # noqa: BLE001 - a palette search never breaks the palette
                continue
            if found is None:
                continue
            record_id, title, merged_from = found
            label = f"Go to {kind} #{record_id}: {title}"
            note = ""
            if merged_from is not None:
                note = f"{kind} #{merged_from} was merged into {kind} #{record_id}"
                label += f" (#{merged_from} was merged into it)"
            yield Hit(1.0, matcher.highlight(label),
                      partial(app.open_record, kind, record_id, note), label,
                      f"Open {kind} #{record_id}")
