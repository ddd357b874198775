"""The widgets package stands alone: public names resolve and no CRM module is imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import widgets

ROOT = Path(__file__).resolve().parents[2]


def test_all_public_names_resolve() -> None:
    for name in widgets.__all__:
        assert getattr(widgets, name) is not None


def test_importing_every_widget_loads_nothing_of_the_crm() -> None:
    code = (
        "import sys, widgets\n"
        "for name in widgets.__all__: getattr(widgets, name)\n"
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'crm_tui', 'screens', 'peewee', 'playhouse'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
    assert Path(widgets.__file__).resolve().parent == ROOT / "widgets"
