"""The gettext catalogs: every message marked in the source is in each catalog, translated,
with the same placeholders, and the compiled .mo that ships says what the .po says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from crm_tui import i18n
from crm_tui.i18n_extract import CONTEXT_GLUE, extract_messages

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "crm_tui" / "locale"
LANGUAGES = ["es"]

PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([^)]*\)[sdrif]|%[sdrif]")


@pytest.fixture(scope="module")
def extracted() -> dict:
    return extract_messages(ROOT)


def _po(language: str):
    with open(LOCALE / language / "LC_MESSAGES" / "crm_tui.po", "rb") as po:
        return read_po(po, locale=language)


def _key(message) -> str | tuple[str, ...]:
    """A catalog entry's key as `extract_messages` gives it."""
    return message.id if not message.context else f"{message.context}{CONTEXT_GLUE}{message.id}"


def _entry(catalog, key):
    """The catalog's entry for an extracted key (context and msgid)."""
    if isinstance(key, str) and CONTEXT_GLUE in key:
        context, msgid = key.split(CONTEXT_GLUE, 1)
        return catalog.get(msgid, context=context)
    return catalog.get(key)


def _texts(string) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, list | tuple) else (string,)


def test_the_source_marks_messages(extracted):
    # The extraction itself works: a message of each kind of marking is found.
    assert "Show this message and exit." in extracted  # N_ (click's own)
    assert "Print JSON." in extracted  # a click option's help=
    assert any(str(m).startswith("crm: a customer-relationship manager") for m in extracted)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_extracted_message_is_translated(extracted, language):
    catalog = _po(language)
    problems = []
    for msgid, where in extracted.items():
        message = _entry(catalog, msgid)
        if message is None:
            problems.append(f"missing: {msgid!r} ({where[0]})")
        elif message.fuzzy or not all(_texts(message.string)):
            problems.append(f"untranslated: {msgid!r} ({where[0]})")
        else:
            # a plural's forms after the first say what the English plural says (click's
            # "Did you mean {possibility}?" / "one of: {possibilities}")
            sources = _texts(message.id)
            for index, text in enumerate(_texts(message.string)):
                wanted = sorted(PLACEHOLDER.findall(sources[min(index, len(sources) - 1)]))
                if sorted(PLACEHOLDER.findall(text)) != wanted:
                    problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
    assert not problems, f"{len(problems)} problems in {language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_matches_the_po(language):
    catalog = _po(language)
    with open(LOCALE / language / "LC_MESSAGES" / "crm_tui.mo", "rb") as mo:
        compiled = read_mo(mo)
    # pybabel compile leaves out what is untranslated (the test above names it) and fuzzy
    po_pairs = {(m.context, _texts(m.id)): _texts(m.string) for m in catalog
                if m.id and not m.fuzzy and all(_texts(m.string))}
    mo_pairs = {(m.context, _texts(m.id)): _texts(m.string) for m in compiled if m.id}
    assert po_pairs == mo_pairs, "run `python -m crm_tui.i18n_extract` to compile the catalog"


def test_a_catalog_holds_no_message_the_source_dropped(extracted):
    # Obsolete entries would ship strings nothing asks for; `update --ignore-obsolete` drops them.
    stale = [m.id for m in _po("es") if m.id and _key(m) not in extracted]
    assert not stale


def test_languages_are_those_with_a_catalog():
    assert i18n.available_languages() == ["en", "es"]
    assert i18n.normalize("es_ES.UTF-8") == "es" and i18n.normalize("pt-BR") == "pt"


def _own_nodes(function: ast.AST):
    """The nodes of a function's own scope (nested functions, lambdas, comprehensions aside)."""
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                          | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            todo.extend(ast.iter_child_nodes(node))


def test_no_function_hides_the_translation_function():
    # `amount, _, rest = text.partition(" ")` (or `def done(_)`) in a function that also
    # calls `_("...")` makes that call fail at run time ("'str' object is not callable").
    problems = []
    for folder in ("crm_tui", "screens", "widgets"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                nodes = list(_own_nodes(function))
                # A parameter named `_` (a callback's ignored result) hides it just the same.
                binds = any(isinstance(n, ast.Name) and n.id == "_"
                            and isinstance(n.ctx, ast.Store) for n in nodes) or any(
                    a.arg == "_" for a in ast.walk(function.args) if isinstance(a, ast.arg))
                calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                            and n.func.id == "_" for n in nodes)
                if binds and calls:
                    problems.append(f"{path.relative_to(ROOT)}:{function.lineno} {function.name}")
    assert not problems


# The error types whose text a person reads, and where a reason sits in the calls that take one.
_REFUSALS = {"PermissionDenied", "NotFound", "Conflict", "ServerUnreachable", "CrmError",
             "BadValue"}
_REASON_AT = {"Problem": 3, "one": 3}  # Problem(record, field, value, reason), .one(...)


def _plain_english(node: ast.AST) -> bool:
    """Text written plain in the expression, not passed through `_()` (field names and
    values are arguments of their own and are not looked at)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and re.search(r"[A-Za-z]{2}", node.value) is not None
    if isinstance(node, ast.JoinedStr):
        return any(_plain_english(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _plain_english(node.left) or _plain_english(node.right)
    if isinstance(node, ast.IfExp):
        return _plain_english(node.body) or _plain_english(node.orelse)
    return False


def test_service_refusals_go_through_the_catalog():
    # A refusal or a rejection's reason written as a plain string would reach every user in
    # English: the service layer (and acl, db) say them with `_()`.
    sources = [*sorted((ROOT / "crm_tui" / "services").rglob("*.py")),
               ROOT / "crm_tui" / "acl.py", ROOT / "crm_tui" / "db.py"]
    plain = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            texts = node.args[:1] if name in _REFUSALS else []
            if name in _REASON_AT and len(node.args) > _REASON_AT[name]:
                texts.append(node.args[_REASON_AT[name]])
            plain += [f"{path.relative_to(ROOT)}:{text.lineno}: {ast.unparse(text)[:80]}"
                      for text in texts if _plain_english(text)]
    assert not plain, "messages not marked for translation:\n" + "\n".join(plain)



# The money, CSV and mail errors: their message (the first argument) is a `Said` or an
# `N_()` message id, never plain English; RowProblem's reason is its fourth argument.
_CORE_MESSAGES = {"MoneyError", "CsvFormatError", "MailError", "MailServerUnreachable",
                  "MailAuthFailed", "MailRejected", "HeaderInjection", "Said"}


def test_money_csv_and_mail_messages_go_through_the_catalog():
    sources = [ROOT / "crm_tui" / "money.py", ROOT / "crm_tui" / "csvio.py",
               *sorted((ROOT / "crm_tui" / "mail").glob("*.py"))]
    plain = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            texts = node.args[:1] if name in _CORE_MESSAGES else []
            if name == "RowProblem" and len(node.args) > 3:
                texts.append(node.args[3])
            if name == "MailConfigError" and len(node.args) > 2:
                texts.append(node.args[2])
            if name in ("ValueError",) and path.name == "money.py":
                texts += node.args[:1]
            plain += [f"{path.relative_to(ROOT)}:{text.lineno}: {ast.unparse(text)[:80]}"
                      for text in texts if _plain_english(text)]
    assert not plain, "messages not marked for translation:\n" + "\n".join(plain)


def test_every_mail_message_is_known_to_the_faces_and_translated():
    # A stored mail text is read back by matching the known messages: one raised but not
    # listed in mail.errors.MESSAGES would stay English on every status line.
    from crm_tui.mail.errors import MESSAGES

    raised = set()
    for path in sorted((ROOT / "crm_tui" / "mail").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_"
                    and path.name != "errors.py"):
                raised.add(node.args[0].value)
    assert raised and raised <= set(MESSAGES), sorted(raised - set(MESSAGES))
    with i18n.in_language("es"):
        untranslated = [m for m in MESSAGES if i18n.gettext(m) == m]
    assert not untranslated


def test_a_stored_mail_text_is_read_back_in_the_reader_s_language():
    from crm_tui.mail.errors import MESSAGES

    stored = "setting mail.imap_port: value 'x': must be a whole number from 1 to 65535"
    with i18n.in_language("es"):
        assert i18n.said(stored, MESSAGES) == (
            "ajuste mail.imap_port: valor 'x': debe ser un número entero de 1 a 65535")
        # More fixed words win: "refused to {action}" over "refused {command}".
        assert i18n.said("IMAP server h:1 refused to move: NO", MESSAGES) == (
            "el servidor IMAP h:1 se negó a move: NO")
        # Free text (a server's own answer) is shown as it is.
        assert i18n.said("250 2.0.0 Ok: queued", MESSAGES) == "250 2.0.0 Ok: queued"
    assert i18n.said(stored, MESSAGES) == stored


def test_a_stored_unmatched_reason_is_read_in_the_reader_s_language():
    from crm_tui.services.mail_unmatched import REASONS

    stored = "subject token names lead 7, which does not exist"
    with i18n.in_language("es"):
        assert i18n.said(stored, REASONS) == "la marca del asunto nombra el lead 7, que no existe"
        assert i18n.said("throttled: a@b.example sent more than 5 mails within an hour",
                         REASONS) == "limitado: a@b.example envió más de 5 correos en una hora"
    assert i18n.said(stored, REASONS) == stored


def test_a_sync_pass_s_lines_are_kept_in_english_and_read_in_each_language():
    from crm_tui.services import mail_sync
    from crm_tui.services.mail_sync import NOTES, SyncReport, readable

    report = SyncReport(filed=3, unmatched=1, errors=0)
    over = "its subject is 2000 characters, over the limit of 998"
    report.note(NOTES[2].format(where="uid 7", subject=repr("Hola"), why=over, lead=12))
    report.note(NOTES[3].format(where="uid 8", subject=repr("Precio"),
                                reason="no [Lead#] token, X-CRM-Lead header or reply to "
                                       "mail the CRM sent"))
    with i18n.in_language("es"):
        stored = report.status_text()
        lines = [readable(line) for line in report.details()]
        status = readable(stored)
        summary = report.summary()
        free = readable("uid 9: something the server said")
    assert stored == "3 filed, 1 unmatched, 0 errors"  # what every operator's line reads
    assert status == "3 archivados, 1 sin asignar, 0 errores"
    assert lines == [
        "uid 7 ('Hola'): su asunto tiene 2000 caracteres, más que el límite de 998: "
        "archivado como nota en el lead 12",
        "uid 8 ('Precio'): sin asignar: sin marca [Lead#], cabecera X-CRM-Lead ni respuesta "
        "a un correo enviado por el CRM"]
    assert summary.startswith("archivados 3, duplicados 0, sin asignar 1")
    assert free == "uid 9: something the server said"
    assert readable(stored) == stored and mail_sync.STATUS_PARTS[0] == "{n} filed"


def test_a_quarantined_copy_s_reason_and_a_replay_read_in_each_language():
    from crm_tui.cli.mail import _replayed
    from crm_tui.services.mail_unmatched import readable_reason

    reason = "it has 700 MIME parts, over the limit of 500"
    row = {"id": "k1", "outcome": "filed", "lead": 4, "reason": reason}
    assert readable_reason(reason) == reason
    assert _replayed(row) == f"quarantined mail k1: filed on lead 4: {reason}"
    with i18n.in_language("es"):
        assert readable_reason(reason) == "tiene 700 partes MIME, más que el límite de 500"
        assert _replayed(row) == ("correo en cuarentena k1: archivado en el lead 4: "
                                  "tiene 700 partes MIME, más que el límite de 500")


def test_a_merge_s_note_is_kept_in_english_and_read_in_each_language():
    from crm_tui.services.stored_lines import readable

    note = "Merged company 'Acme' (#3); its differing values:\ncountry: Chile"
    assert readable(note) == note
    with i18n.in_language("es"):
        assert readable(note) == ("Fusionado company 'Acme' (#3); sus valores distintos:\n"
                                  "country: Chile")
        assert readable("my own note: status a -> b") == "my own note: status a -> b"
