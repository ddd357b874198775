"""MIME and IMAP are handled only through the email package, imap-tools and imaplib's
public API: one parser, the standard one (STYLE "What this codebase teaches so far")."""

from __future__ import annotations

import re
from pathlib import Path

import crm_tui
from crm_tui.mail import message

PACKAGE = Path(crm_tui.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

# Private parts of imaplib / imap_tools objects, the email package's private modules and
# its legacy parsing policy: each was once the base of a reader of our own.
FORBIDDEN = {
    r"\.client\._\w+": "a private attribute of imaplib's IMAP4",
    r"\b_client\._\w+": "a private attribute of imaplib's IMAP4",
    r"\._(command|get_response|get_tagged_response|simple_command|untagged_response)\(":
        "imaplib internals",
    r"\bemail\._\w+": "a private module of the email package",
    r"\bcompat32\b": "the legacy email policy (policy.default is the one parser)",
    r"\bemail\.feedparser\b": "the email package's feed parser (message_from_bytes reads mail)",
}


def test_no_mime_or_imap_reader_of_our_own() -> None:
    assert not (PACKAGE / "mail" / "mime.py").exists()
    assert not (PACKAGE / "mail" / "wire.py").exists()
    found = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for pattern, what in FORBIDDEN.items():
            for match in re.finditer(pattern, text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {match.group(0)} ({what})")
    assert found == []


def test_messages_are_parsed_with_policy_default(monkeypatch) -> None:
    from email import policy

    seen = []
    real = message.message_from_bytes

    def spy(raw, **kwargs):
        seen.append(kwargs.get("policy"))
        return real(raw, **kwargs)

    monkeypatch.setattr(message, "message_from_bytes", spy)
    parsed = message.parse_message(b"From: a@x.example\r\nSubject: hi\r\n\r\nbody\r\n")
    assert parsed.text == "body" and seen == [message.POLICY]
    # policy.default in every setting; its header factory only remembers what it made.
    used = message.POLICY
    assert ({k: v for k, v in vars(used).items() if k != "header_factory"}
            == {k: v for k, v in vars(policy.default).items() if k != "header_factory"})
    for name, value in [("Content-Type", 'multipart/mixed; boundary="b"; charset=utf-8'),
                        ("From", '"Ann, B." <ann@x.example>, bo@y.example'),
                        ("Subject", "=?utf-8?q?caf=C3=A9?= menu"),
                        ("Content-Disposition", "attachment; filename*=utf-8''r%C3%A9.pdf")]:
        ours = used.header_fetch_parse(name, value)
        theirs = policy.default.header_fetch_parse(name, value)
        assert (str(ours), type(ours).__mro__[1:], ours.defects) == (
            str(theirs), type(theirs).__mro__[1:], theirs.defects)
        assert used.header_fetch_parse(name, value) is ours  # made once
    # A long value (a hostile one, say) is not kept in memory with its parse tree.
    long = "text/plain; name=" + "a" * 2000
    assert used.header_fetch_parse("Content-Type", long) is not used.header_fetch_parse(
        "Content-Type", long)
