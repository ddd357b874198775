"""Delivery reports (RFC 3464) read with the email package: which recipients failed, and why."""

from __future__ import annotations

from email import message_from_bytes, policy

from crm_tui.mail.dsn import delivery_report
from crm_tui.mail.message import parse_message


def _report(blocks: str, *, report_type: str = "delivery-status",
            returned: str = "Content-Type: text/rfc822-headers\r\n\r\n"
                            "Message-ID: <sent.1@crm.example>\r\nSubject: Offer\r\n") -> bytes:
    return (
        "From: postmaster@mx.example\r\nSubject: Delivery Status Notification\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type={report_type}; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery has failed.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n" + blocks +
        f"--b\r\n{returned}\r\n--b--\r\n").encode()


def test_only_failed_recipients_are_reported_with_their_reason() -> None:
    raw = _report(
        "Final-Recipient: rfc822; Ana@Example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n"
        "Final-Recipient: rfc822; ok@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
        "Original-Recipient: rfc822; <bo@example.org>\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n")

    report = delivery_report(message_from_bytes(raw, policy=policy.default))

    assert report.original_id == "sent.1@crm.example"
    assert report.failures == [("ana@example.org", "552 5.2.2 mailbox full"),
                               ("bo@example.org", "5.1.1")]
    # The parser keeps it on the message, and the report is still machine-made mail.
    parsed = parse_message(raw)
    assert parsed.bounce == report and parsed.auto_generated


def test_reports_that_are_no_delivery_failure_are_none() -> None:
    delayed = _report("Final-Recipient: rfc822; a@example.org\r\nAction: delayed\r\n\r\n")
    receipt = _report("Final-Recipient: rfc822; a@example.org\r\nAction: failed\r\n\r\n",
                      report_type="disposition-notification")
    plain = b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
    for raw in (delayed, receipt, plain):
        assert delivery_report(message_from_bytes(raw, policy=policy.default)) is None
        assert parse_message(raw).bounce is None


def test_a_report_without_the_original_still_names_the_failure() -> None:
    raw = _report("Final-Recipient: rfc822; a@example.org\r\nAction: failed\r\n"
                  "Diagnostic-Code: X-Postfix;\r\n host said: 550 no such user\r\n\r\n",
                  returned="Content-Type: text/plain\r\n\r\n(no copy)\r\n")

    report = delivery_report(message_from_bytes(raw, policy=policy.default))

    assert report.original_id is None
    assert report.failures == [("a@example.org", "host said: 550 no such user")]


def test_a_global_report_of_a_utf8_address_is_read_too() -> None:
    raw = _report("Final-Recipient: utf-8; josé@example.es\r\nAction: failed\r\n"
                  "Diagnostic-Code: smtp; 550 5.1.1 unknown\r\n\r\n").replace(
        b"message/delivery-status", b"message/global-delivery-status")

    report = delivery_report(message_from_bytes(raw, policy=policy.default))

    assert report.failures == [("josé@example.es", "550 5.1.1 unknown")]
