"""`crm list` tables line up by display width: East Asian wide characters take two cells,
and a value longer than a column ends in "…" instead of being cut mid-character."""

from __future__ import annotations

from rich.cells import cell_len

from crm_tui.cli import output


def test_columns_line_up_by_display_width(capsys):
    output.print_table([{"id": 1, "name": "東京商事", "country": "Japan"},
                        {"id": 2, "name": "Acme", "country": "Spain"}],
                       ["id", "name", "country"])
    lines = capsys.readouterr().out.splitlines()
    # The country column starts at the same terminal cell on every line.
    starts = [cell_len(line[:line.index(country)])
              for line, country in zip(lines, ("COUNTRY", "Japan", "Spain"), strict=True)]
    assert len(set(starts)) == 1
    assert starts[0] == len("id") + 2 + cell_len("東京商事") + 2


def test_a_long_value_is_shortened_with_an_ellipsis_never_half_a_character(capsys):
    name = "株式会社" * 15  # 120 cells
    output.print_table([{"id": 1, "name": name, "city": "Osaka"}], ["id", "name", "city"])
    row = capsys.readouterr().out.splitlines()[1]
    cell = row[len("id") + 2:row.index("Osaka")].rstrip()
    assert cell.endswith("…")
    assert cell_len(cell) <= output.MAX_COLUMN_WIDTH
    assert cell.rstrip("… ")[-1] in "株式会社"
    assert cell_len(row[:row.index("Osaka")]) == 2 + 2 + output.MAX_COLUMN_WIDTH + 2


def test_pages_widen_by_display_width_too(capsys):
    rows = [{"name": "ab"}] * 3 + [{"name": "中文中文"}]
    output.print_table_pages(iter(rows), ["name"], page=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["NAME", "ab", "ab", "ab", "中文中文"]
