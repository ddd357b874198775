"""The command line speaks the user's language: `--lang`, the user's `language`, the OS locale,
English; scripts' words (field names, --json, exit codes) stay English."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crm_tui import i18n

NO_LOCALE = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": None, "LANGUAGE": None}


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.clear_override()
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def crm(*args: str, db: str | None = None, **env: str | None):
    from crm_tui.cli import cli

    head = ["--db", db] if db else []
    return CliRunner().invoke(cli, [*head, *args], env={**NO_LOCALE, **env}, prog_name="crm")


def test_lang_es_translates_help_and_click_s_own_words():
    result = crm("--lang", "es", "list", "--help")
    assert result.exit_code == 0
    assert result.output.startswith("Uso: crm list [OPTIONS]")
    assert "Lista los registros de KIND que el usuario que actúa puede ver." in result.output
    assert "Imprimir un objeto JSON por línea." in result.output  # an option's help
    assert "Muestra este mensaje y sale." in result.output  # click's own --help
    # the option names and kinds are the scripting contract: never translated
    assert "--jsonl" in result.output and "contract-type" in result.output


def test_help_goes_back_to_english_in_the_next_run():
    assert "Uso:" in crm("--lang", "es", "--help").output
    english = crm("--help").output
    assert english.startswith("Usage: crm [OPTIONS]")
    assert "Show this message and exit." in english


def test_lang_after_help_still_chooses_the_language(tmp_path):
    # click runs eager options in the order they are typed; --lang goes first wherever it
    # is among crm's own options (an option's value is not taken for one).
    assert crm("--help", "--lang", "es").output.startswith("Uso: crm")
    assert crm("--db", str(tmp_path / "x.sqlite3"), "--help", "--lang=es").output.startswith(
        "Uso: crm")
    assert crm("--db", "--lang", "--help").output.startswith("Usage: crm")
    # After the command name --lang is not crm's: the command refuses it, in English.
    refused = crm("list", "--help", "--lang", "es")
    assert refused.output.startswith("Usage: crm list")


def test_click_s_help_option_follows_the_language_of_each_run():
    # click keeps the --help option it made for a command; an English run comes first here
    assert "Show this message and exit." in crm("list", "--help").output
    assert "Muestra este mensaje y sale." in crm("--lang", "es", "list", "--help").output
    assert "Show this message and exit." in crm("list", "--help").output


def test_lazily_loaded_commands_speak_the_language_too():
    result = crm("--lang", "es", "invoice", "--help")
    assert "Emite, rectifica y comprueba facturas" in result.output


def test_an_unknown_language_is_one_line_and_usage_status(sqlite_url):
    result = crm("--lang", "fr", "list", "company", db=sqlite_url)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "crm: error: unknown language 'fr' for --lang (known: en, es)"]
    import os

    assert not os.path.exists(sqlite_url)  # nothing opened, nothing written


@pytest.mark.parametrize(("env", "spanish"), [
    ({"LANG": "es_ES.UTF-8"}, True),
    ({"LC_MESSAGES": "es_ES.UTF-8", "LANG": "en_GB.UTF-8"}, True),
    ({"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, False),  # LC_ALL decides when set
    ({"LANG": "fr_FR.UTF-8"}, False),  # no catalog: English
    ({}, False),
])
def test_the_os_locale_chooses_when_nothing_else_does(env, spanish):
    output = crm("--help", **env).output
    assert output.startswith("Uso:" if spanish else "Usage:")


def test_a_usage_error_speaks_the_language():
    result = crm("--lang", "es", "list", "company", "--json", "--jsonl")
    assert result.exit_code == 2
    assert "Error: indique --json o --jsonl, no ambos" in result.output


def test_the_user_s_language_then_lang_overrides_it(crm_db):
    assert crm("set", "user", "1", "language=es", db=crm_db).exit_code == 0
    spanish = crm("stats", "leads", db=crm_db)
    assert spanish.exit_code == 0
    assert "Conversión: 0 ganados de 0 cerrados" in spanish.output
    # the OS locale does not outvote the user's language ...
    assert "Conversión:" in crm("stats", "leads", db=crm_db, LANG="en_US.UTF-8").output
    # ... and --lang outvotes both, for this run only
    english = crm("--lang", "en", "stats", "leads", db=crm_db)
    assert "Conversion: 0 won of 0 closed" in english.output
    # JSON keys and exit codes are the same in every language
    shown = crm("show", "user", "1", "--json", db=crm_db)
    assert json.loads(shown.stdout)["language"] == "es"
    missing = crm("show", "company", "999", db=crm_db)
    assert missing.exit_code == 1


def test_a_user_who_chose_no_language_reads_the_os_locale_s(crm_db):
    # The first superadmin, made by `crm init`, has chosen none yet.
    assert json.loads(crm("show", "user", "1", "--json", db=crm_db).stdout)["language"] == ""
    assert "Conversión: 0 ganados" in crm("stats", "leads", db=crm_db,
                                            LANG="es_ES.UTF-8").output
    assert "Conversion: 0 won" in crm("stats", "leads", db=crm_db, LANG="C.UTF-8").output


def test_a_user_language_without_catalog_falls_back_to_the_os_locale(monkeypatch):
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert i18n.use_user_language("de") == "es"
    assert i18n.use_user_language("en") == "en"
    assert i18n.use_user_language("es-ES") == "es"
    i18n.override_language("en")
    assert i18n.use_user_language("es") == "en"  # --lang wins over the user


def test_a_rejected_value_is_named_in_spanish_with_english_field_names(crm_db):
    result = crm("--lang", "es", "add", "contact", "full_name=Ana", "email=nope", db=crm_db)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "crm: error: contacto 'Ana': campo email: valor 'nope': no es una dirección de correo" in lines
    assert "crm: error: contacto 'Ana': campo company: valor '': obligatorio" in lines
    english = crm("add", "contact", "full_name=Ana", "email=nope", db=crm_db)
    assert "crm: error: contact 'Ana': field email: value 'nope': not an email address" in (
        english.stderr.splitlines())


def test_service_refusals_speak_the_user_s_language(world, crm_db):
    """A sample of the service layer's refusals and rejections, in Spanish: the kinds read in
    Spanish, field names and values stay as typed, the exit codes are the same."""
    customer = str(world.cid("Customer #A"))

    def refused(*args: str, user: str = "admin") -> tuple[int, str]:
        result = crm("--lang", "es", "--user", user, *args, db=crm_db)
        return result.exit_code, result.stderr.strip()

    assert refused("add", "user", "login=nuevo", user="user1") == (
        3, "crm: error: user1 no puede cambiar los usuarios")
    assert refused("add", "tag", "name=vip", user="user1") == (
        3, "crm: error: user1 no puede cambiar las etiquetas")
    assert refused("add", "contract-type", "name=Soporte", user="user1") == (
        3, "crm: error: user1 no puede cambiar registros de tipo de contrato")
    assert refused("show", "company", "999") == (1, "crm: error: empresa 999 no existe")
    assert refused("add", "company", "name=Acme", "colour=red") == (
        1, "crm: error: nuevo registro de empresa: campo colour: valor 'red': campo desconocido")
    assert refused("add", "contract", "name=Soporte", f"company={customer}", "status=5") == (
        1, "crm: error: contrato 'Soporte': campo status: valor '5': "
           "debe ser 0 (inactivo) o 1 (activo)")
    assert refused("merge", "company", customer, customer) == (
        1, f"crm: error: empresa 'Customer #A': campo other: valor '{customer}': "
           "no se puede fusionar un registro (empresa) consigo mismo")
    code, line = refused("db", "grant", "user1")
    assert code == 1 and "los roles de base de datos solo existen en PostgreSQL" in line
    code, line = refused("outbox", "cancel", "999")
    assert code == 1 and line == "crm: error: el correo saliente 999 no existe"
    # The same refusal in English for an English run: the catalogs, not the source, changed.
    english = crm("--user", "user1", "add", "user", "login=nuevo", db=crm_db)
    assert (english.exit_code, english.stderr.strip()) == (
        3, "crm: error: user1 may not change users")


def test_click_s_singular_and_plural_messages_are_translated():
    one = crm("--lang", "es", "show", "company", "1", "sobra")
    assert one.exit_code == 2
    assert "Error: Argumento adicional inesperado (sobra)" in one.output
    two = crm("--lang", "es", "show", "company", "1", "sobra", "otra")
    assert "Error: Argumentos adicionales inesperados (sobra otra)" in two.output
    assert "Got unexpected extra arguments (sobra otra)" in crm(
        "show", "company", "1", "sobra", "otra").output


def test_csv_and_money_refusals_speak_the_language(crm_db, tmp_path):
    """An import's file problems and a bad amount read in Spanish; field names, values and
    the exit code stay as they are."""
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("name,Fax\nAcme,1\n", encoding="utf-8")
    result = crm("--lang", "es", "import", "companies", str(unknown), db=crm_db)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "crm: error: línea 1: archivo de empresas: campo Fax: valor 'Fax': columna desconocida")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"name\nAc\x00me\n")
    result = crm("--lang", "es", "import", "companies", str(binary), db=crm_db)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "crm: error: archivo de empresas: campo file: valor '': no se puede determinar la "
        "codificación: el archivo contiene un byte NUL en la posición 7 (datos binarios, no "
        "un archivo de texto CSV)")
    english = crm("import", "companies", str(unknown), db=crm_db)
    assert english.stderr.strip() == (
        "crm: error: line 1: companies file: field Fax: value 'Fax': unknown column")

    result = crm("--lang", "es", "add", "lead", "full_name=Ana", "estimated_sale=1.234",
                 db=crm_db)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "crm: error: lead 'Ana': campo estimated_sale: valor '1.234': más de 2 decimales")


def test_a_money_error_is_read_in_the_language_where_it_is_shown():
    from crm_tui.money import check_currency, compute_rated_totals, to_money

    with pytest.raises(ValueError) as bad_amount:
        to_money("1.234")
    with pytest.raises(ValueError) as comma:
        to_money("1,5")
    with pytest.raises(ValueError) as discount:
        compute_rated_totals([("10", "21")], [("-1", "21")], "0")
    with pytest.raises(ValueError) as currency:
        check_currency("XX")
    # Raised in English (a log reads it so), read in Spanish where a Spanish face shows it.
    assert str(bad_amount.value) == "amount '1.234' has more than 2 decimal places"
    with i18n.in_language("es"):
        assert str(bad_amount.value) == "el importe '1.234' tiene más de 2 decimales"
        assert str(comma.value).startswith("importe '1,5' no es un número válido: use un punto")
        assert str(discount.value) == (
            "el descuento -1.00 no puede ser negativo; añada un concepto en su lugar")
        assert str(currency.value) == "'XX' no es un código de moneda ISO 4217 como EUR o USD"
    assert str(comma.value).startswith("amount '1,5' is not a valid number: use a dot")


def _lead(crm_db: str, *assignments: str) -> dict:
    added = crm("add", "lead", "full_name=Ana Lenz", *assignments, db=crm_db)
    assert added.exit_code == 0, added.output
    return json.loads(crm("show", "lead", added.stdout.split()[-1], "--json", db=crm_db).stdout)


def test_default_status_names_are_read_in_the_user_s_language(crm_db):
    """The nine default names are stored in English (--json, the timeline) and read in each
    reader's language; a status is given by number, configured name or its name as read."""
    lead = _lead(crm_db)
    assert lead["status_name"] == "New"
    spanish = crm("--lang", "es", "list", "lead", db=crm_db)
    assert "Nuevo" in spanish.output and "New" not in spanish.output
    assert "Nuevo" not in crm("list", "lead", db=crm_db).output

    moved = crm("--lang", "es", "set", "lead", str(lead["id"]), "status=reunión CONCERTADA",
                db=crm_db)
    assert moved.exit_code == 0, moved.output
    shown = json.loads(crm("show", "lead", str(lead["id"]), "--json", db=crm_db).stdout)
    assert (shown["status"], shown["status_name"]) == (1, "Meeting arranged")
    assert shown["activity"][0]["text"] == "status New -> Meeting arranged"
    read = crm("--lang", "es", "show", "lead", str(lead["id"]), db=crm_db).output
    assert "estado Nuevo → Reunión concertada" in read
    assert "status_name      Reunión concertada" in read
    assert crm("set", "lead", str(lead["id"]), "status=Needs discovered",
               db=crm_db).exit_code == 0

    found = crm("--lang", "es", "list", "lead", "--filter", "status=necesidades detectadas",
                "--json", db=crm_db)
    assert [row["id"] for row in json.loads(found.stdout)] == [lead["id"]]
    assert json.loads(crm("list", "lead", "--filter", "status=0", "--json",
                          db=crm_db).stdout) == []


def test_an_unknown_status_is_refused_by_name_or_number(crm_db):
    lead = _lead(crm_db)
    for value in ("Ganado", "9", "-1"):
        refused = crm("--lang", "es", "set", "lead", str(lead["id"]), f"status={value}",
                      db=crm_db)
        assert refused.exit_code == 1
        assert refused.stderr.splitlines() == [
            f"crm: error: lead 'Ana Lenz': campo status: valor '{value}': debe ser un número de "
            "estado de 0 a 8 o el nombre de un estado"]
    listed = crm("list", "lead", "--filter", "status=99", db=crm_db)
    assert listed.exit_code == 1
    assert "value '99'" in listed.stderr
    assert json.loads(crm("show", "lead", str(lead["id"]), "--json",
                          db=crm_db).stdout)["status"] == 0


def test_a_renamed_status_reads_as_named_and_names_stay_apart_in_every_language(crm_db):
    assert crm("config", "set", "lead.status.1", "Demo booked", db=crm_db).exit_code == 0
    lead = _lead(crm_db, "status=1")
    for language in ("es", "en"):
        assert "Demo booked" in crm("--lang", language, "list", "lead", db=crm_db).output
    assert lead["status_name"] == "Demo booked"
    # Status 0 reads "Nuevo" in Spanish: no other status may take that name.
    taken = crm("--lang", "es", "config", "set", "lead.status.2", "nuevo", db=crm_db)
    assert taken.exit_code == 1
    assert "'Nuevo'" in taken.stderr
    assert crm("config", "get", "lead.status.2", db=crm_db).output.strip() in ("", "Needs discovered")


def test_invoice_types_and_statuses_are_typed_in_english_and_read_in_the_language(world, crm_db):
    from crm_tui.services import forms

    company = str(world.cid("Customer #A"))
    added = crm("add", "invoice", f"company={company}", "type=received", "status=paid",
                "bill_id=R-1", db=crm_db)
    assert added.exit_code == 0, added.output
    spanish = crm("--lang", "es", "list", "invoice", db=crm_db).output
    assert "recibida" in spanish and "pagada" in spanish and "paid" not in spanish
    assert "paid" in crm("list", "invoice", db=crm_db).output
    listed = json.loads(crm("--lang", "es", "list", "invoice", "--json", db=crm_db).stdout)
    assert {(row["type"], row["status"]) for row in listed} >= {("received", "paid")}
    with i18n.in_language("es"):
        status = next(d for d in forms.describe(world.session("admin"), "invoice")
                      if d["key"] == "status")
    assert status["options"] == [("pendiente de pago", "pending"), ("pagada", "paid"),
                                 ("anulada", "cancelled")]
