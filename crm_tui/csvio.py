"""Pure CSV reading and writing for imports and exports: encoding, delimiter, header, injection."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TextIO

from crm_tui.i18n import N_, Said

__all__ = [
    "CsvColumns",
    "CsvFormatError",
    "CsvRow",
    "CsvTable",
    "RowProblem",
    "decode",
    "neutralise",
    "read_columns",
    "read_records",
    "read_table",
    "sniff_delimiter",
    "unneutralise",
    "write_table",
]

# Characters a spreadsheet may treat as the start of a formula or a control sequence (SPEC 9).
_TRIGGERS = "=+-@\t\r\n\x00"
# A cell is "at risk" when it is zero or more quotes followed by a trigger. Including the quotes
# makes neutralise/unneutralise an exact bijection: "'=x" (a genuine value) is written as "''=x"
# and read back as "'=x", while a plain "'x" is never touched in either direction.
_AT_RISK = re.compile("'*[" + re.escape(_TRIGGERS) + "]")
_NEUTRALISED = re.compile("'+[" + re.escape(_TRIGGERS) + "]")
# A plain number ("-2613.60", "+1") is data, not a formula: it is written as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# `_NEUTRALISED` at the start of each cell of cells joined by NUL (a cell holds no NUL).
_NEUTRALISED_JOINED = re.compile("\x00'(?='*[" + re.escape(_TRIGGERS.replace("\x00", "")) + "])")
# A cell, among cells each preceded by NUL, that is empty or starts with whitespace.
_BLANK_START = re.compile(r"\x00(?:\s|\x00|$)")

# Where `str.splitlines` breaks lines besides \r and \n.
_OTHER_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"

# How many records the delimiter sniffer looks at; enough to outvote a stray punctuation mark.
_SNIFF_RECORDS = 20
# How much of a large file the sniffer parses first (characters).
_SNIFF_PREFIX = 65536
# Bytes where cp1252 and Latin-1 differ (Latin-1 has C1 control characters there).
_C1_RANGE = re.compile(rb"[\x80-\x9f]")
# Header mapping entry for a blank header cell (no real column name is empty).
_UNNAMED = ""


class CsvFormatError(Exception):
    """The file as a whole cannot be read; str() is one line naming what could not be determined.

    ``problems`` lists the individual header problems when the header is what is wrong.
    The message and each problem's reason are `Said`: English as str, `said()` where shown.
    """

    def __init__(self, message: str, problems: Sequence[RowProblem] = ()) -> None:
        self.problems = list(problems)
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one record: physical line, column (None: the whole row), value, why."""

    line: int
    column: str | None
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason} (value {self.value!r})"


@dataclass(frozen=True)
class CsvRow:
    """One record: the 1-based physical line where it starts and its (un-neutralised) cells."""

    line: int
    cells: list[str]


@dataclass
class CsvTable:
    """A decoded file: how it was read, its header (None: positional) and its data records."""

    encoding: str
    delimiter: str
    header: list[str] | None
    #: Each data record's physical starting line, and how many cells it has.
    lines: list[int]
    lengths: list[int]
    #: The cells by position, export neutralising undone: record n's cells are item n of
    #: the first ``lengths[n]`` columns (a shorter record reads "" in the others).
    by_position: list[list[str]]
    #: The positions where some record has an empty cell (or none at all).
    gap_positions: set[int]
    header_line: int | None = None

    @cached_property
    def cells(self) -> list[list[str]]:
        """Each data record's cells (as `CsvRow.cells`)."""
        return [list(cells[:length]) for cells, length in
                zip(zip(*self.by_position, strict=True), self.lengths, strict=True)]

    @cached_property
    def gaps(self) -> list[int]:
        """The indexes of the records with an empty cell."""
        return [index for index, cells in enumerate(self.cells) if "" in cells]

    @cached_property
    def rows(self) -> list[CsvRow]:
        """The data records (made on first use: `read_columns` reads `by_position`)."""
        return [CsvRow(line, cells) for line, cells in zip(self.lines, self.cells, strict=True)]


# --- encoding ---------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Decode a CSV file's bytes; return (text, encoding name).

    Names: ``utf-8-sig`` (UTF-8 with a BOM, stripped), ``utf-8``, ``cp1252`` or ``latin-1``.
    Anything that is not valid UTF-8 is a single-byte Western file. We choose cp1252 when the
    file uses bytes 0x80-0x9f and they are all defined there, because that is what Excel
    writes as "CSV" on Western Windows (euro sign, curly quotes, dashes); in true Latin-1 those
    bytes are invisible C1 control characters nobody types. Otherwise (no such bytes, where the
    two agree, or a byte cp1252 leaves undefined) we report Latin-1, which never fails.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export; named specifically since it would look binary below.
        raise CsvFormatError(Said(N_(
            "cannot determine the encoding: the file is UTF-16; save it as CSV UTF-8 or Latin-1"
        )))
    nul = data.find(b"\x00")
    if nul != -1:
        raise CsvFormatError(Said(N_(
            "cannot determine the encoding: the file contains a NUL byte at offset {offset} "
            "(binary data, not a CSV text file)"), offset=nul))
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            # A BOM is an explicit claim; falling back to Latin-1 would silently garble text.
            raise CsvFormatError(Said(N_(
                "cannot determine the encoding: the file starts with a UTF-8 byte-order mark "
                "but byte 0x{byte} at offset {offset} is not UTF-8"),
                byte=f"{data[exc.start + 3]:02x}", offset=exc.start + 3)) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _C1_RANGE.search(data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


# --- delimiter --------------------------------------------------------------------------------


def _delimiter_counts(text: str, delimiter: str) -> list[int]:
    """Delimiters outside quotes in each of the first non-blank records, parsed with `delimiter`."""
    if len(text) > _SNIFF_PREFIX:
        # Parsing a large file's head is enough, and far cheaper than wrapping the whole text.
        # Once a record after the sampled ones has started, the sampled ones are complete and
        # read exactly as from the whole text; otherwise read the whole text.
        counts = _count_delimiters(text[:_SNIFF_PREFIX], delimiter, _SNIFF_RECORDS + 1)
        if len(counts) > _SNIFF_RECORDS:
            return counts[:_SNIFF_RECORDS]
    return _count_delimiters(text, delimiter, _SNIFF_RECORDS)


def _count_delimiters(text: str, delimiter: str, wanted: int) -> list[int]:
    counts: list[int] = []
    # Non-strict: a file parsed with the wrong delimiter may look malformed; that is data here.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if not _is_blank(cells):
                counts.append(len(cells) - 1)
                if len(counts) == wanted:
                    break
    except csv.Error:
        # e.g. a stray quote making one huge field; judge by what was read, and let the strict
        # parse that follows report the broken line itself.
        pass
    return counts


#: The delimiters a file may use, and how messages name them.
DELIMITERS = {",": "','", ";": "';'", "\t": "TAB"}


def sniff_delimiter(text: str) -> str:
    """Return ``,``, ``;`` or TAB, judged from the first records with quoted cells respected.

    A delimiter that never separates anything drops out; one that splits every sampled record
    into more cells than each other one wins; failing that, the only one whose cell count is
    the same on every record wins (fields of a ``;`` file may hold commas in varying
    numbers); a TAB that does neither is white space inside cells. A file with none is one
    column wide and reads with ``,``. Only when several stay plausible is the file rejected,
    naming them, because guessing would shift every column.
    """
    counts = {d: _delimiter_counts(text, d) for d in DELIMITERS}
    plausible = [d for d, found in counts.items() if any(found)]
    if not plausible:
        return ","
    if len(plausible) == 1:
        return plausible[0]
    for candidate in plausible:
        mine = counts[candidate]
        if all(len(counts[other]) == len(mine)
               and all(m > o for m, o in zip(mine, counts[other], strict=True))
               for other in plausible if other != candidate):
            return candidate
    steady = [d for d in plausible if len(set(counts[d])) == 1 and counts[d][0] > 0]
    if len(steady) == 1:
        return steady[0]
    # A TAB that neither outvotes the others nor alone keeps a steady count is white space
    # inside cells.
    plausible = [d for d in plausible if d != "\t"]
    if len(plausible) == 1:
        return plausible[0]
    names = [DELIMITERS[d] for d in plausible]
    raise CsvFormatError(Said(N_(
        "cannot determine the delimiter: {named} all separate cells in the first lines "
        "(tried {tried}); use one of them consistently"),
        named=Said(N_("{some} and {last}"), some=", ".join(names[:-1]), last=names[-1]),
        tried=", ".join(DELIMITERS.values())))


# --- formula injection ------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet could run as a formula (SPEC 9).

    A plain number such as a negative amount is left as it is, so a spreadsheet reads it
    as a number.

    Also prefixes cells that are already quotes followed by a trigger (``'=x`` becomes
    ``''=x``), so that `unneutralise` can tell a real leading quote from our prefix.
    """
    if _AT_RISK.match(cell) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def unneutralise(cell: str) -> str:
    """Undo `neutralise`: drop exactly one leading ``'`` from quotes followed by a trigger."""
    return cell[1:] if _NEUTRALISED.match(cell) else cell


# --- reading ----------------------------------------------------------------------------------


def _is_blank(cells: list[str]) -> bool:
    """A record with no data: an empty line, or only whitespace and delimiters.

    Excel leaves such rows (",,,,") behind once cells were formatted; they carry nothing.
    """
    return not "".join(cells).strip()


def _key(name: str) -> str:
    """How column names are compared: case-insensitively, ignoring surrounding whitespace."""
    return name.strip().casefold()


#: Records parsed at a time: each batch is checked, transposed and un-neutralised while its
#: cells are still in the processor's caches (a later pass over every cell costs far more).
_BATCH = 1000


@dataclass
class _Read:
    """What `_read` makes of a text (see `CsvTable`)."""

    header: list[str] | None = None
    header_line: int | None = None
    lines: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    by_position: list[list[str]] = field(default_factory=list)
    gap_positions: set[int] = field(default_factory=set)


def _read(text: str, delimiter: str, known_columns: Sequence[str]) -> _Read | None:
    """Parse `text` strictly into non-blank records, a batch at a time; find the header.

    None when the reader refuses the text or its line count does not add up: then
    `_read_one_by_one` says where.
    """
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True)
    out = _Read()
    read = 0  # lines read so far
    first = True  # the first record is yet to come
    try:
        while batch := list(itertools.islice(reader, _BATCH)):
            starts = _starts(batch, read, reader.line_num)
            if starts is None:
                return None
            read = reader.line_num
            # A record whose first cell starts with a non-blank character has data; only
            # the others need the full look at every cell.
            firsts = next(zip(*batch), ())  # noqa: B905 (an empty record stops it short)
            blank: set[int] = set()
            if len(firsts) < len(batch) or _BLANK_START.search("\x00" + "\x00".join(firsts)):
                blank = {index for index, cells in enumerate(batch)
                         if not cells or not cells[0][:1].strip() and _is_blank(cells)}
            if blank:
                keep = [index not in blank for index in range(len(batch))]
                batch = list(itertools.compress(batch, keep))
                starts = list(itertools.compress(starts, keep))
                if not batch:
                    continue
            if first:
                first = False
                batch, starts = _take_header(out, batch, starts, known_columns)
                if not batch:
                    continue
            # The records go into the columns while they are fresh; the lists are dropped.
            _transpose_into(out, batch)
            out.lines.extend(starts)
    except csv.Error:
        return None
    return out


def _read_one_by_one(text: str, delimiter: str, known_columns: Sequence[str]) -> _Read:
    """`_read` a record at a time (raises CsvFormatError naming the record's line)."""
    lines, records = _records(text, delimiter)
    out = _Read()
    if records:
        records, lines = _take_header(out, records, lines, known_columns)
        if records:
            _transpose_into(out, records)
    out.lines = list(lines)
    return out


def _take_header(out: _Read, records: list[list[str]], starts: Sequence[int],
                 known_columns: Sequence[str]) -> tuple[list[list[str]], Sequence[int]]:
    """Take the first record as the header if it is one (see `read_table`).

    Returns the data records and their lines.
    """
    header = list(_unneutralise_cells(records[0]))
    if not _is_header(header, known_columns):
        return records, starts
    out.header, out.header_line = header, starts[0]
    return records[1:], starts[1:]


def _physical_lines(text: str) -> Iterable[str]:
    """The text's lines with their ends, as a file opened with ``newline=""`` reads them.

    That keeps CR LF, CR and LF inside quoted cells exactly and counts each as one line.
    `str.splitlines` gives the same lines, faster, unless the text holds one of the other
    characters it also breaks at.
    """
    if any(char in text for char in _OTHER_BREAKS):
        return io.StringIO(text, newline="")
    return text.splitlines(keepends=True)


def _starts(batch: list[list[str]], before: int, after: int) -> Sequence[int] | None:
    """The first physical line of each record of a batch read from line `before` + 1 to `after`.

    A record takes one line, plus one per line break within its cells. None when that
    does not add up to the lines the reader counted.
    """
    if after - before == len(batch):
        return range(before + 1, after + 1)
    starts: list[int] = []
    line = before + 1
    for cells in batch:
        starts.append(line)
        joined = "".join(cells)
        # \r\n, \r and \n each end one line (as for the reader, see `_read`).
        line += 1 + joined.count("\n") + joined.count("\r") - joined.count("\r\n")
    return starts if line - 1 == after else None


def _transpose_into(out: _Read, batch: list[list[str]]) -> None:
    """Add a batch's cells, neutralising undone, to the columns by position.

    A record shorter than the longest (of the batch, or of the file) reads "" at the end.
    """
    columns, gap_positions = out.by_position, out.gap_positions
    before = len(out.lengths)
    lengths = list(map(len, batch))
    out.lengths.extend(lengths)
    longest = max(lengths)
    if longest == min(lengths):
        parts: Iterable[tuple[str, ...]] = zip(*batch, strict=True)
    else:
        parts = itertools.zip_longest(*batch, fillvalue="")
    for position, part in enumerate(parts):
        if position == len(columns):
            columns.append([""] * before)  # the earlier records are shorter
            if before:
                gap_positions.add(position)
        columns[position].extend(_unneutralise_cells(part))
        if "" in part:
            gap_positions.add(position)
    for position in range(longest, len(columns)):
        columns[position].extend([""] * len(batch))
        gap_positions.add(position)


def _unneutralise_cells(cells: Sequence[str]) -> Sequence[str]:
    """`unneutralise` on each cell (a new list when some cell starts with a quote)."""
    # Joined by NUL, which decode() refuses, so NUL cannot occur inside a cell: one search
    # tells whether any cell starts with a quote, one substitution undoes them all.
    joined = "\x00" + "\x00".join(cells)
    if "\x00'" not in joined:
        return cells
    return _NEUTRALISED_JOINED.sub("\x00", joined).split("\x00")[1:]


def _records(text: str, delimiter: str) -> tuple[list[int], list[list[str]]]:
    """Parse `text` strictly into non-blank records, one at a time.

    Returns their physical starting lines and their cells as written (neutralised).
    """
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True)
    lines: list[int] = []
    records: list[list[str]] = []
    end = 0  # the physical line the previous record ended on
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            first = cells[0] if cells else ""
            if (not first or first[0].isspace()) and _is_blank(cells):
                continue
            lines.append(start)
            records.append(cells)
    except csv.Error as exc:
        # Strict mode, because a stray quote would otherwise swallow the rest of the file
        # into one cell without a word.
        raise CsvFormatError(Said(N_(
            "cannot read the record starting on line {line}: {error} "
            "(check the quotes on that line)"), line=end + 1, error=str(exc))) from None
    return lines, records


def _is_header(cells: list[str], known_columns: Sequence[str]) -> bool:
    """Whether a first record names columns rather than holding data (see `read_table`)."""
    if not known_columns:
        return False
    names = [_key(cell) for cell in cells]
    known = {_key(column) for column in known_columns}
    if _key(known_columns[0]) not in names:
        return False
    if sum(name in known for name in names) * 2 >= len(names):
        return True
    return all(_key(column) in names for column in known_columns[:3])


def without_lines(table: CsvTable, lines: Collection[int]) -> CsvTable:
    """The table without the records that start on `lines` (rows an import leaves out)."""
    kept = [n for n, line in enumerate(table.lines) if line not in lines]
    return CsvTable(table.encoding, table.delimiter, table.header,
                    [table.lines[n] for n in kept], [table.lengths[n] for n in kept],
                    [[cells[n] for n in kept] for cells in table.by_position],
                    # Fewer records leave at most the same positions with gaps.
                    set(table.gap_positions), table.header_line)


def read_table(data: bytes, known_columns: Sequence[str]) -> CsvTable:
    """Decode, sniff and parse a file; decide whether its first record is a header.

    The first record is a header when it contains the first known column (e.g. ``name``) and
    either at least half of its cells are known column names or it contains all of the first
    three known columns. Otherwise the file is positional: hand-made files have no header.
    Cells keep their exact text except that export neutralising is undone.
    """
    text, encoding = decode(data)
    delimiter = _header_delimiter(text, known_columns) or sniff_delimiter(text)
    read = _read(text, delimiter, known_columns) or _read_one_by_one(text, delimiter,
                                                                    known_columns)
    return CsvTable(encoding, delimiter, read.header, read.lines, read.lengths,
                    read.by_position, read.gap_positions, read.header_line)


def _header_delimiter(text: str, known_columns: Sequence[str]) -> str | None:
    """The delimiter that makes the first record a header line of `known_columns`, when
    exactly one does (None: sniff it from the data, as for a file without a header)."""
    if not known_columns:
        return None
    found = []
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text[:_SNIFF_PREFIX], newline=""), delimiter=delimiter)
        try:
            first = next((cells for cells in reader if not _is_blank(cells)), None)
        except csv.Error:
            continue
        if first is not None and len(first) > 1 and _is_header(first, known_columns):
            found.append(delimiter)
    return found[0] if len(found) == 1 else None


def _other_delimiter(cell: str, delimiter: str, width: int) -> str | None:
    """The delimiter a one-cell record of a `width`-column file seems to use instead of the
    file's own (it splits the record into three cells or more), if any."""
    if width < 3:
        return None
    for other in DELIMITERS:
        if other != delimiter and cell.count(other) >= 2:
            return other
    return None


def _header_map(
    table: CsvTable,
    columns: Sequence[str],
    ignored_columns: Collection[str],
    required_columns: Collection[str],
) -> list[str | None]:
    """Map each header position to a column name (None: ignored, `_UNNAMED`); raise if bad."""
    assert table.header is not None
    line = table.header_line or 1
    canonical = {_key(column): column for column in columns}
    ignored = {_key(column) for column in ignored_columns}
    mapping: list[str | None] = []
    seen: set[str] = set()
    problems: list[RowProblem] = []
    for cell in table.header:
        key = _key(cell)
        if not key:
            # Excel leaves blank header cells over empty columns; a value under one is
            # reported on its row instead.
            mapping.append(_UNNAMED)
        elif key in ignored:
            mapping.append(None)
        elif key not in canonical:
            problems.append(RowProblem(line, cell, cell, Said(N_("unknown column"))))
            mapping.append(None)
        elif key in seen:
            problems.append(RowProblem(line, cell, cell,
                                       Said(N_("column appears twice in the header"))))
            mapping.append(None)
        else:
            seen.add(key)
            mapping.append(canonical[key])
    for column in required_columns:
        if _key(column) not in seen:
            problems.append(RowProblem(line, column, "",
                                       Said(N_("required column missing from header"))))
    if problems:
        summary = "; ".join(f"{p.reason}: {p.column!r}" for p in problems)
        raise CsvFormatError(Said(N_("cannot use the header on line {line}: {summary}"),
                                  line=line, summary=summary), problems)
    return mapping


def read_records(
    table: CsvTable,
    fixed_columns: Sequence[str],
    extra_columns: Sequence[str],
    ignored_columns: Collection[str] = (),
    required_columns: Collection[str] | None = None,
) -> Iterator[tuple[int, dict[str, str], list[RowProblem]]]:
    """Yield (line, values by column name, problems) for each record of `table`.

    `values` always holds every fixed and extra column (absent ones as ""). A header file is
    mapped by name; its header is checked here, eagerly, and an unknown, duplicated or missing
    required column (default: the first fixed column) raises `CsvFormatError` whose
    ``problems`` name each one, before any record is yielded: guessing would lose data.
    `ignored_columns` (e.g. the derived ``billing``) are accepted and dropped. A positional
    file is mapped fixed columns first, then extra (custom field) columns; missing trailing
    cells are empty, and surplus cells are a problem because they mean the row is shifted.
    """
    columns = [*fixed_columns, *extra_columns]
    if table.header is None:
        return _positional_records(table.rows, columns)
    required = fixed_columns[:1] if required_columns is None else required_columns
    mapping = _header_map(table, columns, ignored_columns, required)
    return _named_records(table.rows, columns, mapping)


@dataclass
class CsvColumns:
    """A table read column by column (what `read_columns` returns)."""

    #: The physical starting line of each record.
    lines: list[int]
    #: Every fixed and extra column's cells in record order ("" where a record has none).
    columns: dict[str, Sequence[str]]
    #: What `read_records` reports for a record, by the record's index.
    problems: dict[int, list[RowProblem]]
    #: The columns known to have no empty cell (others may have some).
    full: set[str] = field(default_factory=set)


def read_columns(
    table: CsvTable,
    fixed_columns: Sequence[str],
    extra_columns: Sequence[str],
    ignored_columns: Collection[str] = (),
    required_columns: Collection[str] | None = None,
) -> CsvColumns:
    """`read_records` column by column: the same mapping, values and problems.

    For callers that check a whole column at a time (a large import): the columns made
    while reading are handed over as they are, instead of one dict per record.

    Raises:
        CsvFormatError: the header is unusable (as `read_records`).
    """
    columns = [*fixed_columns, *extra_columns]
    if table.header is None:
        mapping: list[str | None] = list(columns)
    else:
        required = fixed_columns[:1] if required_columns is None else required_columns
        mapping = _header_map(table, columns, ignored_columns, required)
    lines, lengths, by_position = table.lines, table.lengths, table.by_position
    width = len(mapping)
    problems: dict[int, list[RowProblem]] = {}
    longest = max(lengths, default=0)
    if longest > width:
        for index, (line, length) in enumerate(zip(lines, lengths, strict=True)):
            if length > width:
                problems[index] = [RowProblem(
                    line, None, by_position[width][index],
                    Said(N_("too many columns: expected {width}, got {length}"),
                         width=width, length=length))]
    if 1 in lengths and width > 1:
        # The delimiter is checked on every record: one the file's delimiter does not split
        # at all but another does, uses that one (a line pasted from another file).
        width_here = len(table.header) if table.header is not None else longest
        for index, length in enumerate(lengths):
            if length != 1:
                continue
            cell = by_position[0][index]
            other = _other_delimiter(cell, table.delimiter, width_here)
            if other is not None:
                problems.setdefault(index, []).insert(0, RowProblem(
                    lines[index], None, cell,
                    Said(N_("the line is separated by {other}, the file by {delimiter}"),
                         other=DELIMITERS[other], delimiter=DELIMITERS[table.delimiter])))
    same_length = longest == min(lengths, default=0)
    full: set[str] = set()
    if same_length:
        full = {column for position, column in enumerate(mapping)
                if column and position < longest and position not in table.gap_positions}
    blank = ("",) * len(lines)
    out: dict[str, Sequence[str]] = dict.fromkeys(columns, blank)
    for position, column in enumerate(mapping):
        if column is None:
            continue
        cells_here = by_position[position] if position < len(by_position) else blank
        if column == _UNNAMED:
            for index, cell in enumerate(cells_here):
                if cell.strip():
                    problems.setdefault(index, []).append(RowProblem(
                        lines[index], f"#{position + 1}", cell,
                        Said(N_("value under an unnamed column"))))
        else:
            out[column] = cells_here
    return CsvColumns(lines, out, problems, full)


def _positional_records(
    rows: Iterable[CsvRow], columns: Sequence[str]
) -> Iterator[tuple[int, dict[str, str], list[RowProblem]]]:
    """Map cells by position; a longer row than the column list is reported, not truncated."""
    for row in rows:
        problems: list[RowProblem] = []
        if len(row.cells) > len(columns):
            problems.append(
                RowProblem(
                    row.line,
                    None,
                    row.cells[len(columns)],
                    Said(N_("too many columns: expected {width}, got {length}"),
                         width=len(columns), length=len(row.cells)),
                )
            )
        values = dict.fromkeys(columns, "")
        values.update(zip(columns, row.cells, strict=False))
        yield row.line, values, problems


def _named_records(
    rows: Iterable[CsvRow], columns: Sequence[str], mapping: Sequence[str | None]
) -> Iterator[tuple[int, dict[str, str], list[RowProblem]]]:
    """Map cells through the header mapping; report cells the header cannot account for."""
    # Cells are assigned in one dict.update over the header's keys; positions that are
    # ignored or unnamed get placeholder keys (NUL cannot occur in a column name read from a
    # decoded file), taken out again below.
    keys = [column if column else f"\x00{position}" for position, column in enumerate(mapping)]
    unnamed = [(f"\x00{position}", position) for position, column in enumerate(mapping)
               if column == _UNNAMED]
    placeholders = [key for key in keys if key.startswith("\x00")]
    blank = dict.fromkeys(columns, "")
    for row in rows:
        problems: list[RowProblem] = []
        if len(row.cells) > len(mapping):
            problems.append(
                RowProblem(
                    row.line,
                    None,
                    row.cells[len(mapping)],
                    Said(N_("too many columns: expected {width}, got {length}"),
                         width=len(mapping), length=len(row.cells)),
                )
            )
        values = blank.copy()
        values.update(zip(keys, row.cells, strict=False))
        if placeholders:
            for key, position in unnamed:
                cell = values.get(key, "")
                if cell.strip():
                    problems.append(
                        RowProblem(
                            row.line, f"#{position + 1}", cell,
                            Said(N_("value under an unnamed column")),
                        )
                    )
            for key in placeholders:
                values.pop(key, None)
        yield row.line, values, problems


# --- writing ----------------------------------------------------------------------------------


def format_cell(value: object) -> str:
    """One cell as `write_table` writes it: None empty, everything else by str(), then neutralised and quoted."""
    text = neutralise("" if value is None else str(value))
    # Quoted by hand: the csv module leaves a lone \r unquoted when the line terminator is \n,
    # which would split the record on reading.
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_table(header: Sequence[str], rows: Iterable[Sequence[object]], out: TextIO) -> None:
    """Write a header line and the rows with ``,`` and ``\\n``, every cell neutralised.

    Open `out` with ``newline=""`` so embedded line breaks and the terminator stay as written.
    A cell containing NUL is written as is but `decode` will refuse the file as binary.
    """
    width = len(header)
    out.write(",".join(format_cell(name) for name in header) + "\n")
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {number} has {len(row)} cells, header has {width}")
        out.write(",".join(format_cell(value) for value in row) + "\n")
