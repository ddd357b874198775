"""What an import tells its caller: the report, the cancellation, and progress as it goes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_tui.errors import CrmError, Problem
from crm_tui.services.imports.layouts import LAYOUTS

#: Rows between two progress reports / cancellation checks.
STEP = 2000


class ImportCancelled(CrmError):
    """The import was cancelled before it finished; nothing was written."""


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do).

    ``problems`` holds warnings that did not stop the import (a lead that resembles an
    existing one); anything that stops it is raised as `ValidationFailed` instead.
    """

    kind: str
    dry_run: bool
    rows: int
    created: int
    problems: list[Problem]
    encoding: str
    delimiter: str
    header: bool
    #: The new records' ids in file order (empty on a dry run).
    ids: list[int] = field(default_factory=list)
    #: (line, how messages name it, e.g. "company 'ACME'") of each row created, in file order.
    preview: Sequence[tuple[int, str]] = ()
    #: The import batch written (what `crm import undo` takes back), None on a dry run.
    batch: int | None = None
    #: Rows left out as duplicates (`on_duplicate="skip"`): their lines.
    skipped: list[int] = field(default_factory=list)
    #: Rows that update a stored record (`on_duplicate="update"`), as
    #: `crm_tui.services.imports.updating.Update`: line, target, what changed.
    updates: list[Any] = field(default_factory=list)
    #: Rows refused and left out (`keep_going`): every problem, with its line.
    refused: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """One line saying what happened."""
        noun = self.kind if self.created != 1 else LAYOUTS[self.kind].kind
        verb = "would create" if self.dry_run else "created"
        how = f"{self.encoding}, {self.delimiter!r}-separated, " + (
            "with a header line" if self.header else "positional (no header line)")
        tail = " (dry run: nothing written)" if self.dry_run else ""
        if self.batch is not None:
            tail = f"; batch {self.batch} (crm import undo {self.batch} takes it back)"
        skipped = (f", {'would skip' if self.dry_run else 'skipped'} {len(self.skipped)} "
                   "duplicates") if self.skipped else ""
        if self.updates:
            changed = sum(1 for update in self.updates if update.changes)
            same = len(self.updates) - changed
            skipped = (f", {'would update' if self.dry_run else 'updated'} {changed}"
                       + (f" ({same} unchanged)" if same else "")) + skipped
        if self.refused:
            skipped += f", refused {len({problem.line for problem in self.refused})}"
        return f"{verb} {self.created} {noun} from {self.rows} rows{skipped} ({how}){tail}"


class Labels(Sequence[str]):
    """How messages name each row: "company 'ACME'" (or "company on line 7").

    Each is made when asked: most are never needed, and a large file has many rows.
    """

    __slots__ = ("noun", "titles", "lines")

    def __init__(self, noun: str, titles: Sequence[str], lines: list[int]) -> None:
        self.noun, self.titles, self.lines = noun, titles, lines

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> str:
        title = self.titles[index].strip()
        return f"{self.noun} {title!r}" if title else f"{self.noun} on line {self.lines[index]}"


class Preview(Sequence[tuple[int, str]]):
    """(line, label) of each row, made when asked; equal to any sequence of the same pairs."""

    __slots__ = ("lines", "labels")

    def __init__(self, lines: list[int], labels: Sequence[str]) -> None:
        self.lines, self.labels = lines, labels

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> tuple[int, str]:
        return self.lines[index], self.labels[index]

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return zip(self.lines, self.labels, strict=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr(list(self))



class Progress:
    """Reports progress and polls for cancellation: every step of an import calls `tick`."""

    def __init__(self, progress: Callable[[int, int], None] | None,
                 cancelled: Callable[[], bool] | None) -> None:
        self._progress = progress
        self._cancelled = cancelled
        #: Units of work of the whole import (rows checked, then rows written).
        self.total = 0

    def tick(self, done: int) -> None:
        """`done` units of `total` are done; stop here (nothing written) when cancelled."""
        if self._cancelled is not None and self._cancelled():
            raise ImportCancelled("import cancelled: nothing was written")
        if self._progress is not None:
            self._progress(done, self.total)

    def finish(self) -> None:
        """Everything is done."""
        if self._progress is not None:
            self._progress(self.total, self.total)
