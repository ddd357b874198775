"""`crm import` and `crm export` as scripts use them: exit codes, stdout, one line per problem."""

from __future__ import annotations

from pathlib import Path

from crm_tui.models import Company
from crm_tui.services.records import get_kind

SPANISH_COMPANY = "Empresa prueba,,,España,,,,,admin,0000-00-00 00:00:00,,Integria,20\n"
ENGLISH_COMPANY = "Test company,,,Spain,,,,admin,0000-00-00 00:00:00,,Integria,20\n"


def _file(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_import_then_export(world, crm_db, run_crm, tmp_path) -> None:
    source = _file(tmp_path, "empresas.csv", SPANISH_COMPANY, "latin-1")

    dry = run_crm("import", "companies", source, "--dry-run", db=crm_db)
    assert dry.returncode == 0, dry.stderr
    assert "line 1: would create company 'Empresa prueba'" in dry.stdout
    assert Company.select().where(Company.name == "Empresa prueba").count() == 0

    done = run_crm("import", "companies", source, db=crm_db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("created 1 company from 1 rows (latin-1")
    admin = world.session("admin")
    created = get_kind("company").list(admin, {"name": "Empresa prueba"})[0]
    assert created["custom"] == {"Office Phone": "Integria", "General email": "20"}

    target = tmp_path / "out.csv"
    exported = run_crm("export", "companies", "-o", str(target), "--filter", "country=Esp",
                       db=crm_db)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == ""
    assert "companies: 1 rows exported" in exported.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",payment_conditions,billing,Office Phone,General email,id,"
                             "created")
    assert lines[1].startswith("Empresa prueba,,,España,")

    to_stdout = run_crm("export", "contacts", db=crm_db)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout.startswith("full_name,email,company,")


def test_rejected_file_exits_1_with_one_line_per_problem(world, crm_db, run_crm,
                                                         tmp_path) -> None:
    source = _file(tmp_path, "companies.csv", SPANISH_COMPANY + ENGLISH_COMPANY)

    result = run_crm("import", "companies", source, db=crm_db)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("crm: error: line 2: company 'Test company': ") for line in lines)
    assert "field id_parent: value 'admin'" in lines[0]
    assert Company.select().count() == 3  # the good line was not written either


def test_permission_denied_exits_3(world, crm_db, run_crm, tmp_path) -> None:
    source = _file(tmp_path, "companies.csv", SPANISH_COMPANY)

    result = run_crm("--user", "user2", "import", "companies", source, db=crm_db)

    assert result.returncode == 3
    assert result.stderr.startswith("crm: error: user2 may not change companies")
    assert "Traceback" not in result.stderr


def test_unreadable_file_and_bad_filter_exit_1(world, crm_db, run_crm, tmp_path) -> None:
    missing = run_crm("import", "leads", str(tmp_path / "nope.csv"), db=crm_db)
    assert missing.returncode == 1
    assert "No such file or directory" in missing.stderr

    target = tmp_path / "never.csv"
    bad = run_crm("export", "leads", "-o", str(target), "--filter", "colour=red", db=crm_db)
    assert bad.returncode == 1
    assert "colour" in bad.stderr and "unknown field" in bad.stderr
    assert not target.exists()
    assert list(tmp_path.glob(".crm-export-*")) == []
