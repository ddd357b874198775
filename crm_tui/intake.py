"""HTTP lead intake: the endpoint a web contact form posts to (`crm intake`).

`POST /leads` with `name, email, company, role, country, comments` (form-encoded or a JSON
object) and the shared secret (setting `intake.token`) in an `X-Intake-Token` header, an
`Authorization: Bearer` header or a `token` field. Only those fields are read; anything
else is ignored and named in the answer. The owner and channel of the new lead come from
the server's configuration, never from the request, and the intake sends no mail, so a
submitter can choose no recipient. Answers are JSON: 201 created, 401 no token, 403 wrong
token, 408 body too slow, 413 too large, 415 unknown body type, 422 invalid fields (with
each problem), 429 rate limited (with Retry-After), 503 not stored (database trouble).

The leads are created by the acting user of `crm` (`crm --user LOGIN intake`) and owned
by `--owner` (default: that user); their channel is "web form" and their timeline says
which address posted them. A lead that resembles an existing one is still created, with
a "possible duplicate" note, so nothing a visitor sends is lost and an operator merges.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from crm_tui.errors import ValidationFailed
from crm_tui.services.context import Session

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse

#: Form field -> lead field. Nothing else a request sends is ever read.
FORM_FIELDS = {
    "name": "full_name",
    "email": "email",
    "company": "company_name",
    "role": "position",
    "country": "country",
    "comments": "description",
}
REQUIRED_FIELDS = ("name", "email")
MAX_COMMENTS = 5000
MIN_TOKEN_LENGTH = 16
BODY_TIMEOUT_SECONDS = 10.0
PATH = "/leads"


@dataclass(frozen=True)
class IntakeConfig:
    """What the intake needs besides the session: the secret, the owner, the limits."""

    token: str
    owner_login: str
    max_bytes: int = 16_384
    rate: int = 10
    per_seconds: int = 60
    channel: str = "web form"

    @classmethod
    def from_settings(cls, session: Session, owner_login: str | None = None,
                      **limits: Any) -> IntakeConfig:
        """Read the token (secrets file) and check that the intake can run at all.

        Raises:
            ValidationFailed: no token (or a short one), or an unknown owner.
            PermissionDenied: the acting user may not create leads.
        """
        from crm_tui.services import secrets
        from crm_tui.services.leads import owner_choices
        from crm_tui.services.records import get_kind

        # The token lives in the secrets file of the account running the intake.
        token = secrets.get("intake.token").strip()
        if not token:
            raise ValidationFailed.one(
                "setting intake.token", "value", "",
                "is empty: set a long random secret first (crm config set intake.token …)")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValidationFailed.one("setting intake.token", "value", "***",
                                       f"shorter than {MIN_TOKEN_LENGTH} characters")
        get_kind("lead").check_write_any(session)
        owner = owner_login or session.login
        if owner not in dict(owner_choices(session)):
            raise ValidationFailed.one("intake", "owner", owner, "no such enabled user")
        return cls(token=token, owner_login=owner, **limits)


class RateLimiter:
    """At most `rate` hits per key within a sliding window of `per_seconds`."""

    def __init__(self, rate: int, per_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per_seconds = per_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float | None:
        """Count a hit; returns None when allowed, else the seconds until one would be."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.per_seconds:
            hits.popleft()
        if len(hits) >= self.rate:
            return max(0.0, hits[0] + self.per_seconds - now)
        hits.append(now)
        if len(self._hits) > 10_000:
            # Forget idle addresses so a scan of many addresses cannot grow memory forever.
            self._hits = {k: v for k, v in self._hits.items()
                          if v and v[-1] > now - self.per_seconds}
        return None


class _Rejected(Exception):
    """A request refused with an HTTP status and a JSON body."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, message: str, **extra: Any) -> _Rejected:
    return _Rejected(status, {"error": message, **extra})


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise _error(400, "bad Content-Length")
        if int(length) > limit:
            raise _error(413, f"body larger than {limit} bytes")
    body = bytearray()

    async def read() -> None:
        async for chunk in request.stream():
            body.extend(chunk)
            # Chunked bodies carry no length: stop reading as soon as the limit is passed.
            if len(body) > limit:
                raise _error(413, f"body larger than {limit} bytes")

    try:
        await asyncio.wait_for(read(), BODY_TIMEOUT_SECONDS)
    except TimeoutError:
        raise _error(408, "body not received in time") from None
    return bytes(body)


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The submitted fields; raises _Rejected (400/415/422) on a body it cannot read."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(400, "body is not UTF-8") from None
    if content_type == "application/json":
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            raise _error(400, "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _error(400, "body must be a JSON object")
        return data
    if content_type in ("application/x-www-form-urlencoded", ""):
        data: dict[str, Any] = {}
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=50)
        except ValueError:
            raise _error(400, "too many form fields") from None
        for key, value in pairs:
            if key in data:
                raise _Rejected(422, {"errors": [
                    {"field": key, "value": "", "reason": "given more than once"}]})
            data[key] = value
        return data
    raise _error(415, "send application/x-www-form-urlencoded or application/json")


def _check_token(expected: str, given: str | None) -> None:
    if not given:
        raise _Rejected(401, {"error": "token required"},
                        {"WWW-Authenticate": 'Bearer realm="crm intake"'})
    if not hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8")):
        raise _error(403, "wrong token")


def _header_token(request: Request) -> str | None:
    token = request.headers.get("x-intake-token")
    if token:
        return token.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def lead_values(data: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Map a submission to lead fields; returns (values, ignored field names).

    Raises:
        _Rejected: 422 with every problem (missing, not text, line breaks, too long).
    """
    problems = []
    values: dict[str, str] = {}
    for name, lead_field in FORM_FIELDS.items():
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if name in REQUIRED_FIELDS:
                problems.append({"field": name, "value": "", "reason": "required"})
            continue
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            problems.append({"field": name, "value": "", "reason": "must be text"})
            continue
        text = str(raw).strip()
        if name == "comments":
            if len(text) > MAX_COMMENTS:
                problems.append({"field": name, "value": text[:40],
                                 "reason": f"longer than {MAX_COMMENTS} characters"})
                continue
            bad = [ch for ch in text if not ch.isprintable() and ch not in "\r\n\t"]
        else:
            # Single-line fields: a CR or LF could inject headers wherever they end up.
            bad = [ch for ch in text if not ch.isprintable()]
        if bad:
            reason = ("line breaks are not allowed here" if set(bad) & {"\r", "\n"}
                      else "control characters are not allowed")
            problems.append({"field": name, "value": text[:40], "reason": reason})
            continue
        values[lead_field] = text
    if problems:
        raise _Rejected(422, {"errors": problems})
    ignored = sorted(k for k in data if k not in FORM_FIELDS and k != "token")
    return values, ignored


def _problems_json(error: ValidationFailed) -> dict:
    back = {lead: form for form, lead in FORM_FIELDS.items()}
    return {"errors": [{"field": back.get(p.field, p.field), "value": p.value[:40],
                        "reason": p.reason} for p in error.problems]}


def make_app(session: Session, config: IntakeConfig) -> Starlette:
    """The Starlette application serving `POST /leads`."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    limiter = RateLimiter(config.rate, config.per_seconds)

    def create(values: dict[str, str], client: str) -> int:
        # peewee blocks: this runs on a worker thread with a connection of its own.
        from crm_tui.db import database
        from crm_tui.services.leads import create_lead

        raw = {**values, "owner": config.owner_login, "channel": config.channel}
        with database.connection_context():
            created = create_lead(session, raw, note=f"Received from the web form ({client})")
        return created.id

    async def post_lead(request: Request) -> JSONResponse:
        client = request.client.host if request.client else "unknown"
        try:
            retry = limiter.hit(client)
            if retry is not None:
                raise _Rejected(429, {"error": "too many requests"},
                                {"Retry-After": str(max(1, math.ceil(retry)))})
            header_token = _header_token(request)
            if header_token is not None:
                _check_token(config.token, header_token)
            body = await _read_body(request, config.max_bytes)
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            try:
                data = _parse_body(content_type, body)
            except _Rejected:
                if header_token is None:
                    # Without a readable body there is no token: say so before anything else.
                    _check_token(config.token, None)
                raise
            field_token = data.get("token")
            if header_token is None:
                _check_token(config.token, field_token if isinstance(field_token, str) else None)
            values, ignored = lead_values(data)
            try:
                lead_id = await run_in_threadpool(create, values, client)
            except ValidationFailed as error:
                raise _Rejected(422, _problems_json(error)) from None
            except Exception as error:  # noqa: BLE001 - the submitter gets a status, not a trace
                # Nothing was stored (the use case is one transaction); the operator sees why.
                sys.stderr.write(f"crm: intake: lead not stored: {type(error).__name__}: "
                                 f"{str(error).splitlines()[0] if str(error) else ''}\n")
                raise _error(503, "the lead could not be stored, try again later") from None
        except _Rejected as rejected:
            return JSONResponse(rejected.body, rejected.status, headers=rejected.headers)
        answer: dict[str, Any] = {"id": lead_id}
        if ignored:
            answer["ignored"] = ignored
        return JSONResponse(answer, 201)

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    return Starlette(routes=[Route(PATH, post_lead, methods=["POST"])],
                     exception_handlers={HTTPException: http_error})


def serve(session: Session, config: IntakeConfig, host: str = "127.0.0.1",
          port: int = 8088) -> None:
    """Run the intake until interrupted (uvicorn, one process)."""
    import uvicorn

    app = make_app(session, config)
    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False,
        server_header=False, lifespan="off", limit_concurrency=64, timeout_keep_alive=5))
    sys.stderr.write(f"crm: intake listening on http://{host}:{port}{PATH} "
                     f"(leads owned by {config.owner_login})\n")
    sys.stderr.flush()
    server.run()
