"""Send a built message through the configured SMTP server (smtplib)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from crm_tui.i18n import N_, Said
from crm_tui.mail.errors import MailAuthFailed, MailRejected, MailServerUnreachable

SECURITY_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: ``security`` is ``none``, ``starttls`` or ``tls`` (implicit TLS).

    ``user`` None (or empty) sends without logging in, e.g. to a local relay.
    ``local_hostname`` is the EHLO name (None: smtplib's default, the host's FQDN).
    """

    host: str
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"SMTP security must be one of {', '.join(SECURITY_MODES)}")
        if not self.host:
            raise ValueError("SMTP host is not set")
        if not 0 < int(self.port) < 65536:
            raise ValueError(f"SMTP port out of range: {self.port}")

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"


def send(
    config: SmtpConfig, message: EmailMessage, *, ssl_context: ssl.SSLContext | None = None
) -> dict[str, tuple[int, bytes]]:
    """Send ``message`` to its To and Cc recipients.

    Returns the recipients the server refused while accepting the others (usually empty):
    the message *was* sent then, so the caller logs it and reports those addresses rather
    than retrying and doubling it.

    Raises :class:`MailServerUnreachable` when no connection or TLS session can be made,
    :class:`MailAuthFailed` when the login is refused, :class:`MailRejected` when the server
    refuses the sender, every recipient or the data. Each carries one line for the operator.
    """
    return dict(_deliver(config, ssl_context, lambda client: client.send_message(message)))


def send_bytes(
    config: SmtpConfig,
    sender: str,
    recipients: list[str],
    data: bytes,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[dict[str, tuple[int, bytes]], str]:
    """Send an already built message (RFC 5322 bytes, CRLF) from ``sender`` to ``recipients``.

    The outbox keeps the bytes it built, so a retry sends exactly the same mail. Returns the
    refused recipients (as :func:`send`) and the server's answer to the data, e.g.
    ``250 2.0.0 Ok: queued as 12345``; raises as :func:`send`.
    """
    return _deliver(config, ssl_context,
                    lambda client: _transfer(client, config, sender, recipients, data))


def _transfer(client: smtplib.SMTP, config: SmtpConfig, sender: str, recipients: list[str],
              data: bytes):
    """smtplib's ``sendmail`` step by step, keeping the server's final answer."""
    client.ehlo_or_helo_if_needed()
    code, reply = client.mail(sender, _mail_options(client, config, sender, recipients, data))
    if code != 250:
        _reset(client)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for rcpt in recipients:
        code, reply = client.rcpt(rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, reply)
    if len(refused) == len(recipients):
        _reset(client)
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = client.data(data)
    if code != 250:
        _reset(client)
        raise smtplib.SMTPDataError(code, reply)
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)
    return refused, f"{code} {' '.join(text.split())}"


def _mail_options(client: smtplib.SMTP, config: SmtpConfig, sender: str,
                  recipients: list[str], data: bytes) -> list[str]:
    """MAIL FROM parameters: SMTPUTF8 for a non-ASCII address (RFC 6531), 8BITMIME for
    8-bit data, each where the server offers it.

    Raises :class:`MailRejected` (a permanent answer: sending again changes nothing until
    the server changes) when an address needs SMTPUTF8 and the server does not offer it.
    """
    options = []
    wide = [address for address in (sender, *recipients) if not address.isascii()]
    if wide:
        if not client.has_extn("smtputf8"):
            raise MailRejected(Said(
                N_("not sent: the SMTP server {where} does not offer SMTPUTF8, which the "
                   "address {addresses} (non-ASCII) needs"),
                where=config.where, addresses=", ".join(wide)))
        options.append("SMTPUTF8")
    if not data.isascii() and client.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    return options


def _reset(client: smtplib.SMTP) -> None:
    try:
        client.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def _deliver(config: SmtpConfig, ssl_context: ssl.SSLContext | None, transfer):
    """Connect, start TLS and log in as configured, run ``transfer(client)``; translate errors."""
    context = ssl_context or ssl.create_default_context()
    try:
        if config.security == "tls":
            client = smtplib.SMTP_SSL(
                config.host,
                config.port,
                local_hostname=config.local_hostname,
                timeout=config.timeout,
                context=context,
            )
        else:
            client = smtplib.SMTP(
                config.host,
                config.port,
                local_hostname=config.local_hostname,
                timeout=config.timeout,
            )
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerUnreachable(Said(
            N_("SMTP server {where} unreachable: {reason}"),
            where=config.where, reason=_reason(exc))) from exc
    try:
        _start(client, config, context)
        try:
            refused = transfer(client)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailRejected(Said(
                N_("SMTP server refused every recipient: {recipients}"), recipients=", ".join(
                    f"{addr} ({code} {_text(text)})"
                    for addr, (code, text) in sorted(exc.recipients.items())))
            ) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise MailRejected(Said(
                N_("SMTP server refused the sender {sender}: {reply}"),
                sender=exc.sender, reply=_reply(exc))) from exc
        except smtplib.SMTPDataError as exc:
            raise MailRejected(Said(N_("SMTP server refused the message: {reply}"),
                                    reply=_reply(exc))) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailRejected(Said(N_("SMTP server cannot take this message: {reason}"),
                                    reason=str(exc))) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailRejected(Said(N_("SMTP server refused the message: {reply}"),
                                    reply=_reply(exc))) from exc
        except ValueError as exc:
            # The message's own policy refused to write a header (headers.SMTP's guard).
            raise MailRejected(Said(N_("the message cannot be sent as built: {reason}"),
                                    reason=exc if isinstance(exc, Said) else str(exc))) from exc
        except OSError as exc:
            # smtplib's own exceptions are OSErrors too; what is left here is a lost link.
            raise MailServerUnreachable(Said(
                N_("SMTP server {where} dropped the connection: {reason}"),
                where=config.where, reason=_reason(exc))) from exc
    finally:
        _close(client)
    return refused


def _start(client: smtplib.SMTP, config: SmtpConfig, context: ssl.SSLContext) -> None:
    """STARTTLS and login as configured, translating failures."""
    try:
        if config.security == "starttls":
            client.ehlo()
            client.starttls(context=context)
            client.ehlo()
    except smtplib.SMTPNotSupportedError as exc:
        # Never fall back to plain text: the password would cross the network in clear.
        raise MailServerUnreachable(Said(N_("SMTP server {where} does not offer STARTTLS"),
                                         where=config.where)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerUnreachable(Said(
            N_("SMTP server {where}: TLS failed: {reason}"),
            where=config.where, reason=_reason(exc))) from exc
    if not config.user:
        return
    try:
        client.login(config.user, config.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise MailAuthFailed(Said(
            N_("SMTP server {where} refused the login of {user}"),
            where=config.where, user=config.user)) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise MailAuthFailed(Said(N_("SMTP server {where} offers no login (AUTH)"),
                                  where=config.where)) from exc
    except UnicodeEncodeError as exc:
        raise MailAuthFailed(Said(N_("SMTP user and password must be ASCII for smtplib login"))) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerUnreachable(Said(
            N_("SMTP server {where} failed during login: {reason}"),
            where=config.where, reason=_reason(exc))) from exc


def _close(client: smtplib.SMTP) -> None:
    # QUIT after a delivered message may meet a closed socket; that is not a failure.
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _text(text: bytes | str) -> str:
    """A server's answer text on one line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return " ".join(str(text).split())


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text or type(exc).__name__
