"""The layering contract: import-linter's contracts, and what headless commands load."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


HEADLESS_PROBE = """
import sys
from crm_tui.cli import main
try:
    main({args!r})
except SystemExit as done:
    code = done.code
heavy = sorted(m for m in ("textual", "screens", "widgets", "fpdf", "imap_tools", "jinja2",
                           "babel", "rich", "starlette")
               if m in sys.modules)
print("LOADED:" + ",".join(heavy), file=sys.stderr)
"""


def _loaded(args: list[str], data_dir: Path) -> list[str]:
    import os

    env = {**os.environ, "CRM_DATA_DIR": str(data_dir)}
    result = subprocess.run([sys.executable, "-c", HEADLESS_PROBE.format(args=args)],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    line = [x for x in result.stderr.splitlines() if x.startswith("LOADED:")]
    assert line, result.stderr
    return [m for m in line[-1][len("LOADED:"):].split(",") if m]


def test_list_json_never_imports_textual(data_dir):
    assert _loaded(["list", "company", "--json"], data_dir) == []


def test_list_lead_json_reads_no_catalog_and_draws_no_table(data_dir):
    """Scripts' reads start fast: `--json` in English needs neither babel (catalogs, number
    formats) nor rich (text tables), which take longer to import than the page to read."""
    import os

    subprocess.run([sys.executable, "-m", "crm_tui", "demo-data", "--leads", "30",
                    "--companies", "10", "--contacts", "10", "--contracts", "2",
                    "--invoices", "2"], env={**os.environ, "CRM_DATA_DIR": str(data_dir)},
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    assert _loaded(["list", "lead", "--json", "--limit", "50"], data_dir) == []
    # A text table does draw with rich (the probe sees what was loaded).
    assert "rich" in _loaded(["list", "lead", "--limit", "5"], data_dir)


def test_sync_never_imports_textual(data_dir):
    assert "textual" not in _loaded(["--sync"], data_dir)


def test_screens_and_widgets_are_this_projects_packages():
    import screens
    import widgets

    assert Path(screens.__file__).resolve().parent == ROOT / "screens"
    assert Path(widgets.__file__).resolve().parent == ROOT / "widgets"


def test_package_root_imports_nothing():
    result = subprocess.run(
        [sys.executable, "-c", "import sys, crm_tui; print(sorted(m for m in sys.modules "
         "if m.startswith('crm_tui')))"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == "['crm_tui']"
