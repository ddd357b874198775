"""`crm` behaves like a real tool: closed pipes, logging, shell completion, optional extras."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from crm_tui import logs


def _crm(*args: str, data_dir: Path, env: dict | None = None, stdout=subprocess.PIPE,
         blocked: tuple[str, ...] = ()) -> subprocess.Popen:
    """Start the real `crm` in a subprocess; `blocked` modules are made unimportable first."""
    full_env = {**os.environ, "CRM_DATA_DIR": str(data_dir), **(env or {})}
    code = ("import sys\n"
            f"for name in {list(blocked)!r}: sys.modules[name] = None\n"
            "from crm_tui.cli import main\n"
            "main()\n")
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=stdout,
                            stderr=subprocess.PIPE, env=full_env)


# -- a closed pipe -------------------------------------------------------------------------


def test_output_to_a_pipe_closed_at_once_ends_quietly_with_141(crm_db, data_dir):
    process = _crm("--db", crm_db, "list", "user", "--json", data_dir=data_dir)
    process.stdout.close()  # the reader is gone before crm writes a byte
    _, stderr = process.communicate(timeout=60)
    assert stderr.decode() == ""
    assert process.returncode == 141


def test_head_closing_the_pipe_mid_list_ends_crm_quietly(crm_db, data_dir, run_crm, tmp_path):
    rows = ["name,address,country"] + [f"Company {n:04d} {'x' * 150},{'y' * 150},Spain"
                                        for n in range(600)]
    csv_file = tmp_path / "companies.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run_crm("import", "companies", str(csv_file), db=crm_db).returncode == 0
    # More output than a pipe holds (64 KiB): crm is still writing when head has gone.
    script = (f"{shlex.quote(sys.executable)} -m crm_tui --db {shlex.quote(crm_db)} "
              "list company --json | head -c 10; "
              "echo \" status=${PIPESTATUS[0]}\"")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env={**os.environ, "CRM_DATA_DIR": str(data_dir)}, timeout=120)
    assert result.stdout.startswith('[{"id": ')
    assert result.stdout.strip().endswith("status=141")
    assert result.stderr == ""


# -- logging -------------------------------------------------------------------------------


def test_verbose_logs_to_stderr_and_quiet_is_the_default(crm_db, run_crm):
    quiet = run_crm("list", "user", "--json", db=crm_db)
    assert quiet.returncode == 0 and quiet.stderr == ""
    verbose = run_crm("-v", "list", "user", "--json", db=crm_db)
    assert verbose.returncode == 0
    assert f"crm: INFO crm_tui.db: database {crm_db} opened" in verbose.stderr.splitlines()
    # stdout keeps only the data.
    assert [user["login"] for user in json.loads(verbose.stdout)] == ["admin"]


def test_log_file_gets_the_log_and_the_terminal_stays_quiet(crm_db, run_crm, tmp_path):
    log_file = tmp_path / "logs" / "crm.log"
    result = run_crm("--log-file", str(log_file), "show", "user", "999", db=crm_db)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["crm: error: user 999 does not exist"]
    text = log_file.read_text(encoding="utf-8")
    assert "INFO crm_tui.cli: crm show" in text
    assert "INFO crm_tui.db: database" in text
    assert "INFO crm_tui.cli: refused: user 999 does not exist" in text


@pytest.mark.parametrize(("args", "log_name", "started", "refused"), [
    # No mail server: the worker runs the contract duties only; a bad one is refused.
    (("--sync",), "sync.log", "crm --sync", "refused: setting mail.imap_port"),
    (("intake", "--port", "0"), "intake.log", "crm intake", "refused: setting intake.token"),
])
def test_the_services_log_to_their_default_file(args, log_name, started, refused, crm_db,
                                                 run_crm, tmp_path):
    from crm_tui.models import Setting

    log_dir = tmp_path / "log-dir"
    # A port the settings would never take, stored behind their back: refused when read.
    Setting.insert(key="mail.imap_port", value="not-a-port").on_conflict_replace().execute()
    Setting.insert(key="mail.imap_host", value="127.0.0.1").on_conflict_replace().execute()
    result = run_crm(*args, db=crm_db, env={"CRM_LOG_DIR": str(log_dir)})
    assert result.returncode == 1, result.stderr  # a bad mailbox or no intake token: refused
    assert sorted(path.name for path in log_dir.iterdir()) == [log_name]
    text = (log_dir / log_name).read_text(encoding="utf-8")
    assert f"INFO crm_tui.cli: {started}" in text
    assert refused in text


def test_other_commands_keep_no_log_by_default(crm_db, run_crm, tmp_path):
    log_dir = tmp_path / "log-dir"
    assert run_crm("list", "user", db=crm_db, env={"CRM_LOG_DIR": str(log_dir)}).returncode == 0
    assert not log_dir.exists()


def test_log_files_rotate(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    path = tmp_path / "rotating.log"
    root = logging.getLogger()
    level = root.level
    try:
        assert logs.configure(0, path) == path
        for n in range(100):
            logging.getLogger("crm_tui.test").info("line %d of the rotation test", n)
    finally:
        logs.configure(0)  # takes our handlers away again
        root.setLevel(level)
    assert path.stat().st_size <= 2000
    assert (tmp_path / "rotating.log.1").stat().st_size > 0
    assert "line 99 of the rotation test" in path.read_text(encoding="utf-8")


# -- shell completion ----------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_for_each_shell(shell, run_crm):
    result = run_crm("completion", shell)
    assert result.returncode == 0 and result.stderr == ""
    assert "_CRM_COMPLETE" in result.stdout
    assert len(result.stdout.splitlines()) > 5


def test_completion_refuses_an_unknown_shell(run_crm):
    result = run_crm("completion", "tcsh")
    assert result.returncode == 2
    assert "tcsh" in result.stderr


def test_the_completion_script_s_question_gets_the_commands(run_crm):
    # What the bash script runs on TAB after `crm comp`.
    result = run_crm(env={"_CRM_COMPLETE": "bash_complete", "COMP_WORDS": "crm comp",
                          "COMP_CWORD": "1"})
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["plain,completion"]


# -- optional parts ------------------------------------------------------------------------


def test_the_base_install_works_without_the_extras(crm_db, data_dir):
    process = _crm("--db", crm_db, "list", "user", "--json", data_dir=data_dir,
                   blocked=("psycopg", "psycopg2", "starlette", "uvicorn"))
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert [user["login"] for user in json.loads(stdout)] == ["admin"]


def test_postgres_without_its_extra_names_the_extra(data_dir):
    process = _crm("--db", "postgresql://crm@127.0.0.1:9/crm", "list", "company",
                   data_dir=data_dir, blocked=("psycopg",))
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stdout == b""
    lines = stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("crm: error: PostgreSQL support is not installed")
    assert "install the extra crm-tui[postgres]" in lines[0]


def test_intake_without_its_extra_names_the_extra(crm_db, data_dir):
    process = _crm("--db", crm_db, "intake", "--port", "0", data_dir=data_dir,
                   blocked=("uvicorn",))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    lines = stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("crm: error: the web-form intake is not installed")
    assert "install the extra crm-tui[intake]" in lines[0]


def test_an_unexpected_error_is_one_line_without_a_traceback(crm_db, monkeypatch):
    import logging

    from click.testing import CliRunner

    from crm_tui.cli import cli
    from crm_tui.services import records

    def broken(name):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(records, "get_kind", broken)
    # As `crm` runs without -v: no handler of ours, only Python's last resort.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    result = CliRunner().invoke(cli, ["--db", crm_db, "list", "company"])
    assert result.exit_code == 1
    assert result.stderr == "crm: error: unexpected RuntimeError: boom\n"
