"""The worker's duties besides mail, run at the start of each pass (before the outbox is
sent, so a reminder queued now goes out in the same pass): recurring drafts and contract
expiry reminders."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_tui.i18n import _, ngettext
from crm_tui.services.context import Clock


@dataclass
class DutiesReport:
    """What the duties of one pass did."""

    drafts: int = 0
    reminders: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the pass made a draft or queued a reminder."""
        return bool(self.drafts or self.reminders)

    def summary(self) -> str:
        """One line: the counts."""
        return _("contracts: {drafts}, {reminders}").format(
            drafts=ngettext("{n} recurring draft", "{n} recurring drafts", self.drafts).format(
                n=self.drafts),
            reminders=ngettext("{n} expiry reminder queued", "{n} expiry reminders queued",
                               self.reminders).format(n=self.reminders))


def run(sender: str, clock: Clock | None = None) -> DutiesReport:
    """One pass: make the recurring drafts that are due, then queue the expiry reminders
    that are due (from `sender`; none without one). Each is idempotent."""
    from crm_tui.services import contract_billing, contract_reminders

    drafts = contract_billing.create_due_drafts(clock)
    reminders = contract_reminders.send_due_reminders(sender, clock)
    return DutiesReport(drafts.created, reminders.queued, drafts.lines + reminders.lines)
