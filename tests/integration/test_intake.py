"""`crm intake` as a real server on a loopback port, spoken to over real HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from crm_tui.models import Lead, LeadActivity
from crm_tui.services import settings
from crm_tui.services.context import Session

TOKEN = "s3cret-token-for-tests-0123456789"
GOOD = {"name": "Nina Web", "email": "nina@example.org", "company": "Web Co",
        "role": "Buyer", "country": "Portugal", "comments": "Please call me.\nThanks"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_intake(db: str, data_dir, *args: str) -> Iterator[str]:
    """Start `crm intake` in a subprocess; yields the base URL, stops it afterwards."""
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir)}
    for _attempt in range(3):
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm_tui", "--db", db, "intake", "--port", str(port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        if proc.poll() is None:
            break
        err = proc.stderr.read()
        if "address already in use" not in err.lower():
            pytest.fail(f"crm intake did not start: {err}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.fixture
def intake(crm_db, data_dir, admin: Session) -> Iterator[str]:
    settings.set_value(admin, "intake.token", TOKEN)
    with running_intake(crm_db, data_dir, "--rate", "1000", "--max-bytes", "4096") as url:
        yield url


def test_good_post_creates_one_lead_with_an_activity_entry(intake):
    answer = httpx.post(f"{intake}/leads", data={**GOOD, "token": TOKEN})
    assert answer.status_code == 201, answer.text
    (lead,) = Lead.select()
    assert answer.json() == {"id": lead.id}
    assert (lead.full_name, lead.email, lead.company_name, lead.position, lead.country,
            lead.description, lead.channel, lead.owner.login) == (
        "Nina Web", "nina@example.org", "Web Co", "Buyer", "Portugal",
        "Please call me.\nThanks", "web form", "admin")
    texts = [e.text for e in LeadActivity.select().where(LeadActivity.lead == lead.id)]
    assert texts == ["Lead created", "Received from the web form (127.0.0.1)"]


def test_json_with_a_header_token_and_fields_a_submitter_may_not_choose(intake):
    body = {**GOOD, "owner": "user1", "to": "victim@example.com", "channel": "x"}
    answer = httpx.post(f"{intake}/leads", json=body, headers={"X-Intake-Token": TOKEN})
    assert answer.status_code == 201, answer.text
    assert answer.json()["ignored"] == ["channel", "owner", "to"]
    lead = Lead.get_by_id(answer.json()["id"])
    assert (lead.owner.login, lead.channel) == ("admin", "web form")
    bearer = httpx.post(f"{intake}/leads", json={**GOOD, "email": "b@example.org"},
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 201
    assert Lead.select().count() == 2


def test_bad_or_missing_token_is_refused_and_nothing_written(intake):
    assert httpx.post(f"{intake}/leads", data={**GOOD, "token": "wrong"}).status_code == 403
    assert httpx.post(f"{intake}/leads", data=GOOD).status_code == 401
    wrong_header = httpx.post(f"{intake}/leads", data=GOOD, headers={"X-Intake-Token": "no"})
    assert wrong_header.status_code == 403
    assert Lead.select().count() == 0


def test_oversized_body_is_refused_and_nothing_written(intake):
    big = {**GOOD, "token": TOKEN, "comments": "x" * 5000}
    answer = httpx.post(f"{intake}/leads", data=big)
    assert answer.status_code == 413
    # Without a Content-Length (chunked), the limit holds while reading.
    chunks = (part.encode() for part in ["token=" + TOKEN, "&name=a&email=a%40b.org"]
              + ["&comments=" + "y" * 1000] * 6)
    answer = httpx.post(f"{intake}/leads", content=chunks,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413
    assert Lead.select().count() == 0


def test_missing_email_and_line_breaks_are_422_with_each_problem(intake):
    body = {**GOOD, "token": TOKEN}
    del body["email"]
    answer = httpx.post(f"{intake}/leads", data=body)
    assert answer.status_code == 422
    assert answer.json() == {"errors": [{"field": "email", "value": "", "reason": "required"}]}
    answer = httpx.post(f"{intake}/leads", data={**GOOD, "token": TOKEN,
                                                 "name": "Eve\r\nBcc: x@y.org"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "name"
    assert answer.json()["errors"][0]["reason"] == "line breaks are not allowed here"
    answer = httpx.post(f"{intake}/leads", data={**GOOD, "token": TOKEN, "email": "no-at"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "email"
    answer = httpx.post(f"{intake}/leads", content=b"<xml/>",
                        headers={"Content-Type": "text/xml", "X-Intake-Token": TOKEN})
    assert answer.status_code == 415
    assert httpx.get(f"{intake}/leads").status_code == 405
    assert Lead.select().count() == 0


def test_rate_limit_per_address(crm_db, data_dir, admin):
    settings.set_value(admin, "intake.token", TOKEN)
    with running_intake(crm_db, data_dir, "--rate", "2", "--per", "60") as url:
        codes = [httpx.post(f"{url}/leads", data={**GOOD, "token": TOKEN,
                                                  "email": f"n{i}@example.org"}).status_code
                 for i in range(3)]
        assert codes == [201, 201, 429]
        late = httpx.post(f"{url}/leads", data={**GOOD, "token": TOKEN})
        assert late.status_code == 429 and int(late.headers["Retry-After"]) >= 1
    assert Lead.select().count() == 2


def test_refuses_to_start_without_a_token(crm_db, run_crm):
    done = run_crm("intake", "--port", str(_free_port()), db=crm_db)
    assert done.returncode == 1
    assert "intake.token" in done.stderr and "is empty" in done.stderr
