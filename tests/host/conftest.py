"""Fixtures for the shared-host tests: a throwaway OS group (as root) and a clean config."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def in_ci() -> bool:
    """True under CI, where a test that needs root must run, never skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need_root() -> None:
    """Skip without root locally; fail in CI (CI runs as root)."""
    if os.geteuid() != 0:
        if in_ci():
            pytest.fail("this test needs root (CI runs as root)", pytrace=False)
        pytest.skip("needs root (to make a group and chown to it)")


@pytest.fixture
def os_group() -> Iterator[tuple[str, int]]:
    """A throwaway OS group made with groupadd; removed afterwards. Yields (name, gid)."""
    import grp

    need_root()
    name = "crmt" + uuid.uuid4().hex[:8]
    subprocess.run(["groupadd", name], check=True, capture_output=True)
    try:
        yield name, grp.getgrnam(name).gr_gid
    finally:
        subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture
def system_config(tmp_path, monkeypatch) -> Path:
    """CRM_CONFIG points at a file of the test (not yet written); CRM_DATA_DIR is unset so
    the config decides."""
    path = tmp_path / "etc" / "crm_tui" / "config.toml"
    monkeypatch.setenv("CRM_CONFIG", str(path))
    monkeypatch.delenv("CRM_DATA_DIR", raising=False)
    return path
