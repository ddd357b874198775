"""Template safety and macro rendering: contract HTML macros and mail macros."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from crm_tui.documents.templating import (
    CONTRACT_MACROS,
    MAIL_MACROS,
    TemplateError,
    contract_macro_values,
    default_contract_template,
    render_macros,
    render_mail_template,
)

CONTRACT = {
    "id": 7,
    "name": "SAMPLE_CUSTOMER__2021",
    "contract_number": "21/1001",
    "description": "Support <b>24x7</b> & more",
    "date_begin": date(2021, 1, 20),
    "date_end": "2022-01-20",
    "id_company": 3,
    "private": 0,
    "status": 1,
}
COMPANY = {
    "id": 3,
    "name": "Ελληνική Εταιρεία",
    "address": "Odos 1, Athens",
    "fiscal_id": "EL123",
    "country": "Greece",
    "website": "https://example.gr",
    "comments": "VIP",
    "manager": "admin",
    "last_update": datetime(2021, 4, 1, 10, 30),
    "payment_conditions": 30,
}
TYPE = {"id": 2, "name": "Services contract", "description": "Hours bag"}
TEMPLATE = {"id": 1, "name": "Default", "description": "Shipped"}
NOW = datetime(2021, 4, 14, 9, 0)  # a Wednesday


def values(locale: str = "en") -> dict[str, str]:
    return contract_macro_values(CONTRACT, COMPANY, TYPE, TEMPLATE, {12: "Beta"}, NOW, locale)


def test_every_documented_macro_gets_a_value() -> None:
    result = values()
    assert set(CONTRACT_MACROS) <= result.keys()
    assert result["_custom_12_"] == "Beta"
    assert result["_id_contract_"] == "7"
    assert result["_date_begin_"] == "2021-01-20"
    assert result["_name_status_"] == "Active"
    assert result["_id_status_"] == "1"
    assert result["_private_"] == "No"
    assert result["_company_last_update_"] == "2021-04-01 10:30:00"
    assert result["_format_long_time_"] == "14 Wed April 2021"
    assert result["_format_short_time_"] == "14/04/2021"
    assert result["_format_annual_date_"] == "2021"


def test_dates_and_names_are_localised_in_spanish() -> None:
    result = values("es")
    assert result["_format_long_time_"] == "14 mié abril 2021"
    assert result["_format_short_time_"] == "14/04/2021"
    assert result["_name_status_"] == "Activo"


def test_render_substitutes_and_escapes() -> None:
    html = render_macros("<p>_company_name_: _contract_description_</p>", values())
    assert html == "<p>Ελληνική Εταιρεία: Support &lt;b&gt;24x7&lt;/b&gt; &amp; more</p>"


def test_value_with_macro_text_is_not_rescanned() -> None:
    # The contract name contains underscores; a value is inserted, never rendered again.
    assert render_macros("_name_contract_", values()) == "SAMPLE_CUSTOMER__2021"
    assert render_macros("x", {"_a_": "_b_"}) == "x"
    assert render_macros("_a_", {"_a_": "_b_"}) == "_b_"


def test_unknown_macro_is_named() -> None:
    with pytest.raises(TemplateError, match="_compny_name_"):
        render_macros("<p>_compny_name_</p>", values())


def test_ordinary_underscored_words_are_text() -> None:
    text = "my_var_name john_doe@example.org __init__ _"
    assert render_macros(text, {}) == text


@pytest.mark.parametrize(
    "attack",
    [
        '<img src="/etc/passwd"> <img src="file:///etc/passwd"> <a href="file:///etc/shadow">x</a>',
        "${7*7} #{7*7} <%= 7*7 %>",
    ],
)
def test_template_syntax_of_other_engines_is_inert_text(attack: str) -> None:
    # Nothing is evaluated or fetched: the template comes back unchanged.
    assert render_macros(attack, values()) == attack


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{% include '/etc/passwd' %}", "no loader"),
        ("{{ config }}", "'config' is undefined"),
        ("{% for x in range(10**9) %}x{% endfor %}", "Range too big"),
        ("{{ 'x' * 10**8 }}", "not allowed"),
        ("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}",
         "took longer"),
        ("{% for a in range(99999) %}{{ 'xxxxxxxxxx' }}{% endfor %}", "more than"),
        ("{% if %}", "line 1"),
    ],
)
def test_jinja_in_a_template_runs_only_in_the_bounded_sandbox(attack: str, reason: str) -> None:
    from crm_tui.documents import html_render

    with pytest.raises(TemplateError) as caught:
        html_render.render(attack, {}, max_output=200_000, time_limit=0.5)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_the_time_limit_works_on_a_worker_thread() -> None:
    import threading

    from crm_tui.documents import html_render

    failures: list[str] = []

    def run() -> None:
        try:
            html_render.render("{% for a in range(99999) %}{% for b in range(99999) %}"
                               "{% endfor %}{% endfor %}", {}, time_limit=0.3)
        except TemplateError as exc:
            failures.append(str(exc))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert not worker.is_alive() and failures and "took longer" in failures[0]


def test_macros_and_jinja_mix_and_multi_line_values_keep_their_breaks() -> None:
    template = "{% if date_end %}to _date_end_{% else %}open-ended{% endif %}|_company_address_"
    data = values() | {"_company_address_": "Calle Mayor 1\n28013 Madrid <x>"}
    assert render_macros(template, data) == "to 2022-01-20|Calle Mayor 1<br>28013 Madrid &lt;x&gt;"
    assert render_macros(template, data | {"_date_end_": ""}).startswith("open-ended|")


def test_attribute_access_on_a_macro_is_inert() -> None:
    assert render_macros("_id_contract_.__class__.__mro__", values()) == "7.__class__.__mro__"


def test_a_value_cannot_inject_markup() -> None:
    evil = {"_name_contract_": '"><img src="file:///etc/passwd"><script>x</script>'}
    out = render_macros('<a title="_name_contract_">_name_contract_</a>', evil)
    assert "<img" not in out and "<script" not in out
    assert "&#34;&gt;&lt;img" in out


def test_output_is_capped() -> None:
    big = {"_company_comments_": "x" * 1000}
    with pytest.raises(TemplateError, match="more than 5000"):
        render_macros("_company_comments_ " * 10, big, max_output=5000)
    with pytest.raises(TemplateError, match="limit"):
        render_macros("y" * 5001, {}, max_output=5000)


def test_default_template_uses_every_fixed_macro_and_renders() -> None:
    template = default_contract_template()
    for name in CONTRACT_MACROS:
        assert name in template, name
    html = render_macros(template, values())
    assert "Ελληνική Εταιρεία" in html
    assert "_company_name_" not in html


def test_mail_template() -> None:
    mail_values = {
        "_DEST_NAME_": "Ana <ana@x.es>",
        "_DEST_EMAIL_": "ana@x.es",
        "_SRC_NAME_": "Bob",
        "_SRC_EMAIL_": "bob@y.com",
    }
    assert set(MAIL_MACROS) == mail_values.keys()
    subject, body = render_mail_template(
        "Hello _DEST_NAME_", "Dear _DEST_NAME_,\n_important_ {{ 7*7 }}\n-- _SRC_NAME_", mail_values
    )
    assert subject == "Hello Ana <ana@x.es>"  # plain text: not HTML-escaped
    assert body == "Dear Ana <ana@x.es>,\n_important_ {{ 7*7 }}\n-- Bob"


def test_mail_subject_cannot_gain_headers() -> None:
    mail_values = {"_DEST_NAME_": "x\r\nBcc: victim@example.org"}
    subject, body = render_mail_template("Hi _DEST_NAME_\r\nX-Evil: 1", "_DEST_NAME_", mail_values)
    assert "\n" not in subject and "\r" not in subject
    assert body == "x\r\nBcc: victim@example.org"


def test_mail_unknown_macro_is_named() -> None:
    with pytest.raises(TemplateError, match="_DEST_NAM_"):
        render_mail_template("Hi _DEST_NAM_", "", {"_DEST_NAME_": "Ana"})


@pytest.mark.parametrize(("language", "expected"), [
    ("es", "la plantilla usa macros desconocidas: _no_such_macro_"),
    ("en", "template uses unknown macro(s): _no_such_macro_"),
])
def test_a_template_refusal_speaks_the_user_s_language(language, expected):
    from crm_tui import i18n
    from crm_tui.documents import TemplateError
    from crm_tui.documents.templating import render_macros

    i18n.set_language(language)
    try:
        with pytest.raises(TemplateError) as refused:
            render_macros("<p>_no_such_macro_</p>", {})
    finally:
        i18n.set_language("en")
    assert str(refused.value) == expected
