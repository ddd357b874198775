"""Shared set-up of the lead-mail tests: settings pointing at the test servers, leads, raw mail."""

from __future__ import annotations

from email.utils import make_msgid

from crm_tui.services import settings
from crm_tui.services.records import get_kind

REFERENCE = "crm@crm.example"
SENDER = "sales@crm.example"
CLIENT = "client@customer-a.example"


def configure(world, *, imap=None, smtp=None, **extra: str) -> None:
    """Point the mail settings at the test servers (as the superadmin)."""
    admin = world.session("admin")
    values = {"mail.reference_address": REFERENCE, "mail.from_address": SENDER}
    if imap is not None:
        values.update({
            "mail.imap_host": imap.host, "mail.imap_port": str(imap.port),
            "mail.imap_security": "none", "mail.imap_user": imap.user,
            "mail.imap_password": imap.password, "mail.imap_folder": "INBOX",
        })
    if smtp is not None:
        values.update({"mail.smtp_host": smtp.host, "mail.smtp_port": str(smtp.port),
                       "mail.smtp_security": "none"})
    values.update(extra)
    for key, value in values.items():
        settings.set_value(admin, key, value)


def make_lead(world, name: str = "Carla Client", email: str = CLIENT, *,
              company: str | None = "Customer #A", language: str = "en") -> int:
    """A lead managed by `company` (user1 manages Customer #A); returns its id."""
    raw = {"full_name": name, "email": email, "company_name": "Customer A Ltd",
           "language": language}
    if company:
        raw["company"] = str(world.cid(company))
    return get_kind("lead").create(world.session("admin"), raw)


def raw_mail(
    *,
    subject: str,
    sender: str = CLIENT,
    body: bytes | str = "Hello, see attached.",
    charset: str = "utf-8",
    message_id: str | None = "auto",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes]] = (),
    subject_raw: bool = False,
) -> bytes:
    """A customer's message as raw RFC 5322 bytes (CRLF), multipart when attachments."""
    if message_id == "auto":
        message_id = make_msgid(domain="customer-a.example")
    head = [f"From: Carla Client <{sender}>", f"To: {SENDER}", f"Cc: {REFERENCE}",
            f"Subject: {subject}", "Date: Thu, 15 Jan 2026 10:00:00 +0100", "MIME-Version: 1.0"]
    if message_id:
        head.append(f"Message-ID: {message_id}")
    for name, value in (headers or {}).items():
        head.append(f"{name}: {value}")
    data = body.encode(charset) if isinstance(body, str) else body
    if not attachments:
        head += [f"Content-Type: text/plain; charset={charset}",
                 "Content-Transfer-Encoding: 8bit"]
        return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + data + b"\r\n"
    import base64

    boundary = "=-=boundary-1234=-="
    head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    parts = [
        (f"--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\n"
         "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + data + b"\r\n"
    ]
    for filename, payload in attachments:
        encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
        parts.append(
            (f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
             f'Content-Disposition: attachment; filename="{filename}"\r\n'
             "Content-Transfer-Encoding: base64\r\n\r\n").encode() + encoded
        )
    return ("\r\n".join(head) + "\r\n\r\n").encode() + b"".join(parts) + (
        f"--{boundary}--\r\n".encode())


def deliver(server, raws: list[bytes]) -> None:
    """Drop messages straight into the test server's INBOX maildir, as a local delivery
    agent would: much faster than one APPEND each when a test needs thousands."""
    import os
    import time
    import uuid

    maildir = server.root / "mail" / server.user / "Maildir"
    owner = maildir.stat()
    for sub in ("tmp", "new", "cur"):
        if not (maildir / sub).is_dir():
            (maildir / sub).mkdir()
            if os.geteuid() == 0:
                os.chown(maildir / sub, owner.st_uid, owner.st_gid)
    stamp = int(time.time())
    for raw in raws:
        name = f"{stamp}.M{uuid.uuid4().hex}P{os.getpid()}.crmtest,S={len(raw)}"
        temporary = maildir / "tmp" / name
        temporary.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(temporary, owner.st_uid, owner.st_gid)
        os.rename(temporary, maildir / "new" / name)


def send_outbox() -> int:
    """One outbox pass of the mail worker with the current settings; returns how many went."""
    from crm_tui.services import mailing, outbox

    return outbox.send_due(mailing.mail_config().smtp).sent
