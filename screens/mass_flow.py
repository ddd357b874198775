"""A list's mass operation after its dialog: apply to the marked records, offer to apply to
the rest when some are refused, then report and clear the marks (leads and companies)."""

from __future__ import annotations

from typing import Any, ClassVar


def first_upper(label: str) -> str:
    """`label` as the start of a question: its first letter upper, the rest as it is (a
    status name or a typed country keeps its capitals, which `str.capitalize` would drop)."""
    return label[:1].upper() + label[1:]


class MassFlow:
    """Mixed into a RecordListScreen. The screen says how to apply (`_mass`, on a thread),
    which refusal offers the rest (`MASS_REFUSED`) and how that offer reads
    (`_partial_question`)."""

    MASS_REFUSED: ClassVar[type[BaseException]]
    """The services' error carrying a result whose refused records may be left out."""
    MASS_GROUP: ClassVar[str]
    """The worker group of the operation."""

    def _mass(self, request: Any, ids: list[int], partial: bool) -> Any:
        raise NotImplementedError

    def _partial_question(self, refused: int, allowed: int, ids: list[int]) -> str:
        raise NotImplementedError

    def _run_mass(self, request: Any, ids: list[int], partial: bool) -> None:
        def failed(error: BaseException) -> None:
            if isinstance(error, self.MASS_REFUSED) and not partial:
                self._offer_partial(request, ids, error)
            else:
                self.show_error(error)  # type: ignore[attr-defined]

        self.call_service(self._mass, request, ids, partial,  # type: ignore[attr-defined]
                          done=self._mass_done, failed=failed, group=self.MASS_GROUP)

    def _offer_partial(self, request: Any, ids: list[int], error: Any) -> None:
        from crm_tui.i18n import _
        from screens.modals.confirm import ConfirmModal

        result = error.result
        allowed = len(result.changed) + len(result.unchanged)
        if not allowed:
            self.show_error(error)  # type: ignore[attr-defined]
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run_mass(request, ids, partial=True)

        self.app.push_screen(ConfirmModal(  # type: ignore[attr-defined]
            self._partial_question(len(result.refused), allowed, ids),
            _("For example: {first}").format(first=result.refused[0][1])), confirmed)

    def _mass_done(self, result: Any) -> None:
        severity = "warning" if result.refused else "information"
        self.notify(result.summary(), severity=severity, timeout=5)  # type: ignore[attr-defined]
        table = self.table  # type: ignore[attr-defined]
        if table is not None:
            table.clear_marks()
        self.records_changed()  # type: ignore[attr-defined]
