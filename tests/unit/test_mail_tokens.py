"""The [Lead#<id>] subject token: finding it through reply prefixes and encodings."""

from __future__ import annotations

import base64

import pytest

from crm_tui.mail.tokens import decode_header_value, find_lead_token, subject_with_token


def _b(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset)).decode()}?="


@pytest.mark.parametrize(
    "subject",
    [
        "[Lead#42] Offer",
        "Re: [Lead#42] Offer",
        "RE: [Lead#42] Offer",
        "re: Re: [Lead#42] Offer",
        "Fwd: [Lead#42] Offer",
        "FW: [Lead#42] Offer",
        "Fw: RE: [Lead#42] Offer",
        "AW: [Lead#42] Angebot",
        "WG: AW: [Lead#42] Angebot",
        "SV: [Lead#42] Tilbud",
        "Antw: [Lead#42] text",
        "Offer [Lead#42]",
        "Offer ([Lead#42]) as discussed",
        "[lead#42] lower-cased by a user",
        "[External] Re: [Lead#42] tagged by a gateway",
    ],
)
def test_token_found_after_any_prefix(subject: str) -> None:
    assert find_lead_token(subject) == 42


@pytest.mark.parametrize(
    "subject",
    [
        _b("Re: [Lead#42] Grüße aus Köln"),
        "=?utf-8?q?AW=3A_=5BLead=2342=5D_Gr=C3=BC=C3=9Fe?=",
        "Re: " + _b("[Lead#42] Привет"),
        _b("SV: [Lead#42] Hälsningar", "iso-8859-1"),
        "=?UTF-8?B?" + base64.b64encode(b"Fwd: [Lead#42] x").decode() + "?=",
    ],
)
def test_token_found_in_rfc2047_subjects(subject: str) -> None:
    assert find_lead_token(subject) == 42


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "Re: Offer",
        "[Lead#] nothing",
        "[Lead#12a] letters",
        "[Lead#-1] negative",
        "[Lead#+1] signed",
        "[Lead#1.5] decimal",
        "[Lead# 12] space",
        "[Lead#12 ] space",
        "[Lead#0] zero",
        "[Lead#1234567890123] absurdly long",
        "[Lead#99999999999999999999999999] far too long",
        "[Lead#\u0661\u0662] arabic-indic digits",
        "[Lead#１２] full-width digits",
        "Lead#12 without brackets",
        "[Lead12] no hash",
        "[Deal#12] another tag",
    ],
)
def test_bad_tokens_are_rejected(subject: str) -> None:
    assert find_lead_token(subject) is None


def test_first_token_wins() -> None:
    assert find_lead_token("[Lead#5] Fwd: [Lead#3] older thread") == 5


def test_decode_header_value_handles_junk_without_raising() -> None:
    assert decode_header_value("=?utf-8?b?!!!notbase64?= tail").endswith("tail")
    # An unknown charset: the email package marks the byte it cannot read.
    assert decode_header_value("=?x-unknown-charset?q?caf=E9?=") == "caf\ufffd"
    assert decode_header_value("a\r\n\tb\x1b[2J") == "a b[2J"
    assert decode_header_value(None) == ""


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Offer", "[Lead#7] Offer"),
        ("", "[Lead#7]"),
        ("[Lead#7] Offer", "[Lead#7] Offer"),
        ("  [Lead#7] Offer  ", "[Lead#7] Offer"),
        ("Re: [Lead#7] Offer", "[Lead#7] Re: Offer"),
        ("Re: [Lead#8] Offer", "[Lead#7] Re: [Lead#8] Offer"),
        ("Grüße", "[Lead#7] Grüße"),
    ],
)
def test_subject_with_token(subject: str, expected: str) -> None:
    result = subject_with_token(7, subject)
    assert result == expected
    assert find_lead_token(result) == 7


@pytest.mark.parametrize("bad", [0, -1, True, 10**13])
def test_subject_with_token_rejects_bad_ids(bad: int) -> None:
    with pytest.raises(ValueError):
        subject_with_token(bad, "x")
