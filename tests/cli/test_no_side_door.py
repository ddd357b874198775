"""No side door (SPEC 1, "Nothing leaks"): a record the acting user may not see answers
exactly like one that does not exist, on every command that takes an id.

The commands are not listed by hand: the click tree is walked (lazy groups included) and
every command with an id-like argument is run as a user who may not see the hidden records,
once with a hidden id and once with a missing one. The two answers must be the same (exit
code, stdout, stderr, apart from the id typed), and a marker string written into every text
field of the hidden records must never appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crm_tui.services import attachments, contracts, imports, invoices, leads
from crm_tui.services.records import get_kind

MARKER = "zqxhidden"
"""Written into every text field of the hidden records; never in any output."""

MISSING_ID = "987654"
#: What other id arguments get when the user has no record of that kind.
OTHER_MISSING_ID = "876543"
PASSWORDS = {"outsider": "outsider-pw", "nobody": "nobody-pw"}

#: Commands the walk must find (more may come; each is run as well).
KNOWN = {
    ("show",), ("set",), ("delete",), ("attach",), ("attachment", "list"),
    ("attachment", "save"), ("contract", "copy"), ("contract", "pdf"),
    ("contract", "invoice"), ("contract", "link"), ("contract", "unlink"),
    ("contract", "invoices"), ("invoice", "pdf"), ("invoice", "lock"), ("invoice", "unlock"),
    ("lead", "merge"), ("lead", "duplicates"), ("lead", "reply"), ("lead", "forward"),
    ("history",), ("note", "add"), ("import", "undo"), ("mail", "unmatched", "show"),
    ("mail", "unmatched", "assign"), ("mail", "unmatched", "new-lead"),
    ("mail", "unmatched", "discard"), ("mail", "quarantine", "replay"),
}

#: What an id argument names, by its parameter name (a KIND argument names it otherwise).
ID_KINDS = {
    "contract_id": "contract", "bill_id": "invoice", "invoices": "invoice",
    "lead_id": "lead", "keep_id": "lead", "other_id": "lead", "attachment_id": "attachment",
    "batch": "import batch", "ref": "invoice", "mail_id": "outbox mail",
    "unmatched_id": "unmatched mail", "kept_id": "quarantined mail",
}
#: Commands with an id whose records the test does not seed yet (so none is hidden).
UNSEEDED: set[tuple[str, ...]] = set()
#: Commands whose only id names records the outsider may see all of: unmatched mail belongs
#: to no lead, so every user who may write leads sees it (the `nobody` run covers them).
SEEN_BY_OUTSIDER = {("mail", "unmatched", "show"), ("mail", "unmatched", "new-lead"),
                    ("mail", "unmatched", "discard")}

#: Values of required options, by option name.
OPTION_VALUES = {"start": "2027-01-01", "end": "2027-12-31", "to": "someone@example.com"}


def _id_like(param: click.Parameter) -> bool:
    """An argument that names records: RECORD_ID, BILL_ID…, LEAD_ID and the like."""
    if not isinstance(param, click.Argument):
        return False
    metavar = param.metavar or ""
    name = param.name or ""
    return bool(re.search(r"(^|_)id$", name) or "ID" in metavar or name == "batch")


def walk(group: click.Group, ctx: click.Context,
         path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under `group`, lazy ones loaded through get_command."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from walk(command, click.Context(command, parent=ctx, info_name=name),
                            (*path, name))
        else:
            yield (*path, name), command


def id_commands() -> dict[tuple[str, ...], click.Command]:
    """The commands that take an id, by path."""
    from crm_tui.cli import cli

    root = click.Context(cli, info_name="crm")
    return {path: command for path, command in walk(cli, root)
            if any(_id_like(p) for p in command.params)}


# --- the hidden records and the outsider's own ----------------------------------------------


@dataclass
class Seeded:
    """Refs of hidden records by kind (ids and unique titles) and the outsider's own ones."""

    hidden: dict[str, list[str]] = field(default_factory=dict)
    own: dict[str, str] = field(default_factory=dict)
    hidden_from_nobody: dict[str, list[str]] = field(default_factory=dict)
    """Records only a user without any bit may not see (unmatched and quarantined mail)."""


def _m(text: str) -> str:
    return f"{MARKER} {text}"


def seed(admin) -> Seeded:
    """A hidden tree (a root company of admin's with a child, contacts, contract, invoice,
    lead with its timeline, files, mail template), the marker in every text field; a user
    `outsider` with every bit but no superadmin, who manages a company of his own; a user
    `nobody` without any bit."""
    kind = get_kind
    out = Seeded()
    kind("profile").create(admin, {"name": "Every bit", "bits": "CR,CW,CM,IR,IW,IM,LR,LW,LM"})
    kind("user").create(admin, {"login": "outsider", "real_name": "Out Sider",
                                "profiles": "Every bit", "email": "out@example.com",
                                "password": PASSWORDS["outsider"]})
    kind("user").create(admin, {"login": "nobody", "real_name": "No Body",
                                "profiles": "Support operator",
                                "password": PASSWORDS["nobody"]})
    company_text = {"address": _m("street 1"), "fiscal_id": _m("fid"), "country": _m("land"),
                    "website": f"https://{MARKER}.example", "comments": _m("comments"),
                    "custom": {"Office Phone": _m("phone"),
                               "General email": f"{MARKER}@example.com"}}
    root = kind("company").create(admin, {"name": _m("Root"), "manager": "admin",
                                          **company_text})
    child = kind("company").create(admin, {"name": _m("Child"), "manager": "admin",
                                           "parent": str(root), **company_text})
    contact = kind("contact").create(admin, {
        "full_name": _m("Person"), "email": f"{MARKER}.person@example.com",
        "company": str(child), "phone": _m("1"), "mobile": _m("2"), "position": _m("boss"),
        "description": _m("about")})
    contract = kind("contract").create(admin, {
        "name": _m("Contract"), "contract_number": _m("C-1"), "description": _m("terms"),
        "company": str(root), "date_begin": "2026-01-01", "date_end": "2026-12-31"})
    with invoices.deferred_pdfs():
        invoice = kind("invoice").create(admin, {
            "company": str(root), "type": "received", "bill_id": f"{MARKER}-1",
            "reference": _m("ref"), "internal_note": _m("note"), "description": _m("desc"),
            "lines": [{"description": _m("line"), "amount": "10.00"}], "contracts": [contract]})
    lead_values = {"full_name": _m("Lead"), "email": f"{MARKER}.lead@example.com",
                   "company_name": _m("Lead Co"), "country": _m("land"),
                   "position": _m("cto"), "phone": _m("3"), "channel": _m("web"),
                   "description": _m("wants")}
    lead = kind("lead").create(admin, {**lead_values, "owner": "admin", "company": str(root)})
    leads.add_note(admin, lead, _m("called"))
    leads.attach_file(admin, lead, f"{MARKER}-entry.txt", MARKER.encode())
    template = kind("mail-template").create(admin, {
        "name": _m("Mail"), "language": "en", "subject": _m("subject"), "body": _m("body"),
        "company": str(root)})
    imported = imports.run(admin, "companies", (
        f"name,country\n{_m('Imported')},{_m('land')}\n").encode(), dry_run=False)
    files = [attachments.add(admin, owner, owner_id, f"{MARKER}-{owner}.txt", MARKER.encode())
             for owner, owner_id in (("company", root), ("contract", contract),
                                     ("invoice", invoice), ("lead", lead))]
    outbox = _queued_mail(admin, lead)
    unmatched, own_unmatched, kept = _unfiled_mail()
    out.hidden = {
        "company": [str(root), str(child), _m("Root")],
        "contact": [str(contact)],
        "contract": [str(contract)],
        "invoice": [str(invoice), f"{MARKER}-1"],
        "lead": [str(lead)],
        "mail-template": [str(template)],
        "attachment": [str(a) for a in files],
        "import batch": [str(imported.batch)],
        "outbox mail": [str(outbox)],
        "quarantined mail": [kept],
    }
    outsider = _session_of(admin, "outsider")
    own = kind("company").create(outsider, {"name": "Own company", "manager": "outsider"})
    out.own = {
        "company": str(own),
        "contact": str(kind("contact").create(outsider, {
            "full_name": "Own person", "email": "own@example.com", "company": str(own)})),
        "contract": str(kind("contract").create(outsider, {
            "name": "Own contract", "company": str(own), "date_begin": "2026-01-01",
            "date_end": "2026-12-31"})),
        "lead": str(kind("lead").create(outsider, {
            "full_name": "Own lead", "email": "own.lead@example.com", "company": str(own)})),
        "mail-template": str(kind("mail-template").create(outsider, {
            "name": "Own mail", "language": "en", "subject": "Hi", "body": "Hello"})),
    }
    with invoices.deferred_pdfs():
        out.own["invoice"] = str(kind("invoice").create(outsider, {
            "company": str(own), "type": "received", "bill_id": "OWN-A"}))
    out.own["attachment"] = str(attachments.add(outsider, "company", own, "own.txt", b"own"))
    out.own["unmatched mail"] = str(own_unmatched)
    out.hidden_from_nobody = {"unmatched mail": [str(unmatched)], "quarantined mail": [kept]}
    return out


def _unfiled_mail() -> tuple[int, int, str]:
    """Two unmatched messages (one marked in every text) and a quarantined raw copy (marked),
    as the ingest leaves them: their ids and the copy's."""
    from crm_tui.mail import quarantine
    from crm_tui.mail.message import parse_message
    from crm_tui.services import mail_filing

    ids = []
    for n, text in enumerate((MARKER, "plain")):
        raw = (f"From: {text} <{text}.sender{n}@elsewhere.example>\r\nSubject: {text} subject\r\n"
               f"Message-ID: <{text}-{n}@elsewhere.example>\r\n\r\n{text} body\r\n").encode()
        mail_filing.file_incoming([mail_filing.IncomingMail(parse_message(raw), raw=raw)])
        ids.append(mail_filing.FiledMessage.get(
            mail_filing.FiledMessage.key == f"{text}-{n}@elsewhere.example").id)
    raw = f"From: {MARKER}@elsewhere.example\r\nSubject: {MARKER}\r\n\r\n{MARKER}\r\n"
    kept = quarantine.quarantine(raw.encode(), 7, 42, _m("could not be parsed")).stem
    return ids[0], ids[1], kept


def _queued_mail(admin, lead_id: int) -> int:
    """A mail to the hidden lead waiting in the outbox, marked in every text it holds."""
    from crm_tui.models import OutboxMail

    now = admin.clock.now()
    return OutboxMail.create(
        lead=lead_id, message_id=f"<{MARKER}@example.com>", sender=f"{MARKER}@example.com",
        recipients=f"{MARKER}.lead@example.com", subject=_m("subject"),
        message=MARKER.encode(), next_attempt=now, answer=_m("answer"), author=_m("author"),
        created=now).id


def _session_of(admin, login: str):
    from crm_tui.models import User
    from crm_tui.services.context import Session

    return Session(User.get(User.login == login), admin.clock)


def hidden_from_nobody(admin) -> dict[str, list[str]]:
    """For a user without any bit every record is hidden, catalogues and users included."""
    from crm_tui.cli.records import KIND_NAMES
    from crm_tui.models import Attachment, ImportBatch, OutboxMail

    out = {}
    for name in KIND_NAMES:
        kind = get_kind(name)
        first = kind.model.select(kind.model.id).order_by(kind.model.id).first()
        if first is not None:
            out[name] = [str(first.id)]
    out["user"].append("admin")
    out["attachment"] = [str(a.id) for a in Attachment.select().order_by(Attachment.id)
                         .limit(2)]
    out["import batch"] = [str(b.id) for b in ImportBatch.select().limit(1)]
    out["outbox mail"] = [str(m.id) for m in OutboxMail.select().limit(1)]
    return out


def fingerprint(admin, refs: dict[str, list[str]]) -> dict:
    """What admin sees of the hidden records (to prove nothing was changed or deleted)."""
    from crm_tui.mail import quarantine
    from crm_tui.models import Attachment, FiledMessage, ImportBatch, LeadActivity, OutboxMail

    out: dict = {}
    for name, values in refs.items():
        if name in ("attachment", "import batch", "outbox mail", "unmatched mail",
                    "quarantined mail"):
            continue
        for ref in values:
            out[(name, ref)] = get_kind(name).get(admin, ref)
    out["attachments"] = sorted(Attachment.select(Attachment.id, Attachment.owner_kind,
                                                  Attachment.owner_id).tuples())
    out["activity"] = LeadActivity.select().count()
    out["batches"] = sorted(ImportBatch.select(ImportBatch.id, ImportBatch.undone_at).tuples())
    out["outbox"] = sorted(OutboxMail.select(OutboxMail.id, OutboxMail.status,
                                             OutboxMail.attempts).tuples())
    out["ledger"] = sorted(FiledMessage.select(FiledMessage.id, FiledMessage.outcome).tuples())
    out["quarantine"] = [k.id for k in quarantine.kept()]
    return out


# --- running commands -------------------------------------------------------------------


class Crm:
    """`crm` in process, as one user, on one database (each run opens it as a script does)."""

    def __init__(self, db: str, login: str) -> None:
        self.db, self.login = db, login

    def __call__(self, *args: str):
        from crm_tui import db
        from crm_tui.cli import cli

        try:
            return CliRunner().invoke(cli, ["--db", self.db, "--user", self.login, *args],
                                      env={"CRM_PASSWORD": PASSWORDS[self.login]})
        finally:
            db.close_database()  # each run opened its own connection


def _normal(text: str, ref: str) -> str:
    """The output with the id typed replaced, so two runs compare."""
    if ref.isdigit():
        return re.sub(rf"(?<![0-9]){re.escape(ref)}(?![0-9])", "<REF>", text)
    return text.replace(ref, "<REF>")


def _without(text: str, ref: str) -> str:
    return text.replace(ref, "")


def build_args(path: tuple[str, ...], command: click.Command, kind: str | None,
               target: str, ref: str, own: dict[str, str], tmp_path: Path) -> list[str]:
    """The arguments of one run: `ref` goes to the id argument `target`; other id arguments
    get a record of the user's own (or a missing id where he has none)."""
    args: list[str] = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            if param.name == "kind":
                args.append(kind)
            elif _id_like(param):
                named = kind if param.name == "record_id" else ID_KINDS[param.name]
                args.append(ref if param.name == target else own.get(named, OTHER_MISSING_ID))
            elif param.name == "path":
                note = tmp_path / "note.txt"
                note.write_text("a note", encoding="utf-8")
                args.append(str(note))
            elif param.name == "text":
                args.append("a note")
            elif param.name == "assignments":
                first = next(f for f in get_kind(kind).fields
                             if not f.readonly and f.kind in ("text", "textarea"))
                args.append(f"{first.name}=changed")
            elif param.required:
                pytest.fail(f"crm {' '.join(path)}: no test value for argument {param.name}")
        elif isinstance(param, click.Option) and param.required:
            if param.name in OPTION_VALUES:
                value = OPTION_VALUES[param.name]
            elif param.name in ("output", "target"):
                value = str(tmp_path / "out.pdf")
            else:
                pytest.fail(f"crm {' '.join(path)}: no test value for option {param.name}")
            args += [param.opts[0], value]
    return args


def runs(commands: dict, hidden: dict[str, list[str]], own: dict[str, str],
         tmp_path: Path) -> Iterator[tuple[tuple[str, ...], str, list[str], list[str], str, str]]:
    """Per case: the command's path, a label, the arguments with a hidden ref and with a
    missing one, and those two refs."""
    for path, command in sorted(commands.items()):
        params = {p.name: p for p in command.params}
        targets = [name for name, p in params.items() if _id_like(p)]
        kinds = list(params["kind"].type.choices) if "kind" in params else [None]
        for kind in kinds:
            for target in targets:
                named = kind if target == "record_id" else ID_KINDS[target]
                for ref in hidden.get(named, []):
                    if not ref.isdigit() and params[target].type is click.INT:
                        continue  # an int argument takes ids only
                    missing = MISSING_ID if ref.isdigit() else "absent-ref-x"
                    label = f"crm {' '.join(path)} {kind or ''} {target}={ref}"
                    yield (path, label,
                           build_args(path, command, kind, target, ref, own, tmp_path),
                           build_args(path, command, kind, target, missing, own, tmp_path),
                           ref, missing)


@pytest.fixture
def scene(any_db, admin_session_factory):
    admin = admin_session_factory()
    seeded = seed(admin)
    return admin, seeded


@pytest.mark.parametrize("login", ["outsider", "nobody"])
def test_every_command_that_takes_an_id_answers_hidden_like_missing(scene, any_db, tmp_path,
                                                                    login):
    admin, seeded = scene
    commands = id_commands()
    assert KNOWN <= set(commands), sorted(KNOWN - set(commands))
    if login == "outsider":
        hidden, own = seeded.hidden, seeded.own
    else:
        hidden, own = {**hidden_from_nobody(admin), **seeded.hidden_from_nobody}, {}
    before = fingerprint(admin, hidden)
    crm = Crm(any_db, login)
    covered: set[tuple[str, ...]] = set()
    compared = 0
    for path, label, with_hidden, with_missing, ref, missing in runs(commands, hidden, own,
                                                                    tmp_path):
        out = tmp_path / "out.pdf"
        one = crm(*with_hidden)
        out.unlink(missing_ok=True)
        two = crm(*with_missing)
        out.unlink(missing_ok=True)
        assert one.exception is None or isinstance(one.exception, SystemExit), (
            label, one.exception)
        assert one.exit_code != 0, (label, one.stdout, one.stderr)
        assert (one.exit_code, _normal(one.stdout, ref), _normal(one.stderr, ref)) == (
            two.exit_code, _normal(two.stdout, missing), _normal(two.stderr, missing)), label
        for text in (one.stdout, one.stderr):
            assert MARKER not in _without(text, ref).lower(), (label, text)
        covered.add(path)
        compared += 1
    # Every command with an id ran with hidden records; none of them changed.
    expected = set(commands) - UNSEEDED - (SEEN_BY_OUTSIDER if login == "outsider" else set())
    assert covered == expected, sorted(expected - covered)
    assert compared > 2 * len(commands), compared
    assert fingerprint(admin, hidden) == before


def test_the_walk_finds_the_commands_and_their_id_arguments():
    commands = id_commands()
    assert KNOWN <= set(commands)
    names = {path: [p.name for p in command.params if _id_like(p)]
             for path, command in commands.items()}
    assert names[("lead", "merge")] == ["keep_id", "other_id"]
    assert names[("contract", "link")] == ["contract_id", "invoices"]
    assert names[("show",)] == ["record_id"]
    # Every id argument names a kind the test knows how to seed.
    for path, params in names.items():
        for name in params:
            assert name == "record_id" or name in ID_KINDS, (path, name)


# --- references in fields, uniqueness and duplicates ------------------------------------------

#: (kind, field, kind it refers to): every reference field a hidden record could fill.
REFERENCES = [
    ("contact", "company", "company"),
    ("contract", "company", "company"),
    ("contract", "related_contract", "contract"),
    ("invoice", "company", "company"),
    ("invoice", "contracts", "contract"),
    ("lead", "company", "company"),
    ("company", "parent", "company"),
    ("mail-template", "company", "company"),
]
#: What `crm add KIND` needs besides the reference.
REQUIRED = {
    "contact": ["full_name=New person", "email=new@example.com"],
    "contract": ["name=New contract"],
    "invoice": ["type=received", "bill_id=NEW-A"],
    "lead": ["full_name=New lead"],
    "company": ["name=New company"],
    "mail-template": ["name=New mail", "language=en"],
}


def _same_answer(one, two, ref: str, missing: str, label: str) -> None:
    assert one.exit_code == two.exit_code == 1, (label, one.stderr, two.stderr)
    assert (_normal(one.stdout, ref), _normal(one.stderr, ref)) == (
        _normal(two.stdout, missing), _normal(two.stderr, missing)), label
    assert MARKER not in _without(one.stdout + one.stderr, ref).lower(), (label, one.stderr)


def test_a_reference_to_a_hidden_record_reads_like_a_missing_one(scene, any_db):
    admin, seeded = scene
    crm = Crm(any_db, "outsider")
    before = fingerprint(admin, seeded.hidden)
    for kind, name, target in REFERENCES:
        for ref in seeded.hidden[target]:
            missing = MISSING_ID if ref.isdigit() else "absent-ref-x"
            for verb, head in (("set", ["set", kind, seeded.own[kind]]),
                               ("add", ["add", kind, *REQUIRED[kind]])):
                label = f"crm {verb} {kind} {name}={ref}"
                one = crm(*head, f"{name}={ref}")
                two = crm(*head, f"{name}={missing}")
                _same_answer(one, two, ref, missing, label)
                assert f"field {name}: value '{ref}': no such {target}" in one.stderr, label
    # Filters name references too, in lists and exports.
    for ref in seeded.hidden["company"]:
        missing = MISSING_ID if ref.isdigit() else "absent-ref-x"
        for head in (["list", "contact"], ["list", "lead"], ["export", "contracts"]):
            label = f"crm {' '.join(head)} --filter company={ref}"
            one = crm(*head, "--filter", f"company={ref}")
            two = crm(*head, "--filter", f"company={missing}")
            _same_answer(one, two, ref, missing, label)
    assert fingerprint(admin, seeded.hidden) == before
    assert get_kind("contact").list(_session_of(admin, "outsider"),
                                    {"full_name": "New person"}) == []


def test_uniqueness_says_a_name_is_taken_and_nothing_more(scene, any_db):
    _admin, seeded = scene
    crm = Crm(any_db, "outsider")
    taken = crm("add", "company", f"name={_m('Root')}")
    assert taken.exit_code == 1 and taken.stdout == ""
    assert taken.stderr == (f"crm: error: company '{_m('Root')}': field name: "
                            f"value '{_m('Root')}': another company already has it\n")
    renamed = crm("set", "company", seeded.own["company"], f"name={_m('Root')}")
    assert renamed.exit_code == 1
    assert "another company already has it" in renamed.stderr
    assert MARKER not in _without(renamed.stderr, _m("Root"))
    for hidden_id in seeded.hidden["company"][:2]:
        assert hidden_id not in taken.stderr + renamed.stderr.replace(seeded.own["company"], "")


def test_duplicate_offers_name_only_leads_the_user_may_see(scene, any_db):
    admin, seeded = scene
    hidden_lead = seeded.hidden["lead"][0]
    # A second hidden lead that shares its email with one of the outsider's.
    shared = get_kind("lead").create(admin, {
        "full_name": _m("Twin"), "email": "own.lead@example.com", "company_name": _m("Co"),
        "owner": "admin", "company": seeded.hidden["company"][0]})
    crm = Crm(any_db, "outsider")

    # Same email and same company and name as the hidden lead: no offer at all.
    quiet = crm("lead", "create", "--name", _m("Lead"), "--email", f"{MARKER}.lead@example.com",
                "--company", _m("Lead Co"), "--no-duplicates")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr
    new_id = quiet.stdout.strip()
    assert new_id.isdigit() and new_id not in (hidden_lead, str(shared))

    # Same email as his own lead and the hidden twin: only his own is named.
    warned = crm("lead", "create", "--name", "Someone", "--email", "own.lead@example.com")
    assert warned.exit_code == 0
    assert warned.stderr.splitlines() == [
        f"crm: warning: the new lead resembles lead #{seeded.own['lead']} 'Own lead' "
        "(same email)"]
    refused = crm("lead", "create", "--name", "Someone", "--email", "own.lead@example.com",
                  "--no-duplicates")
    assert refused.exit_code == 1 and MARKER not in refused.stderr
    assert str(shared) not in refused.stderr.replace(seeded.own["lead"], "")

    listed = crm("lead", "duplicates", seeded.own["lead"])
    assert listed.exit_code == 0, listed.stderr
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
        warned.stdout.strip()]
    assert MARKER not in listed.stdout + listed.stderr

    merged = crm("lead", "merge", seeded.own["lead"], str(shared))
    missing = crm("lead", "merge", seeded.own["lead"], MISSING_ID)
    _same_answer(merged, missing, str(shared), MISSING_ID, "lead merge")
    assert get_kind("lead").get(admin, shared)["full_name"] == _m("Twin")


def test_links_to_hidden_records_are_not_listed(scene, any_db):
    admin, seeded = scene
    hidden_invoice, hidden_contract = seeded.hidden["invoice"][0], seeded.hidden["contract"][0]
    contracts.add_invoices(admin, seeded.own["contract"], [hidden_invoice, seeded.own["invoice"]])
    contracts.add_invoices(admin, hidden_contract, [seeded.own["invoice"]])
    crm = Crm(any_db, "outsider")
    contract = json.loads(crm("show", "contract", seeded.own["contract"], "--json").stdout)
    assert contract["invoices"] == [int(seeded.own["invoice"])]
    invoice = json.loads(crm("show", "invoice", seeded.own["invoice"], "--json").stdout)
    assert invoice["contracts"] == [int(seeded.own["contract"])]
    related = crm("contract", "invoices", seeded.own["contract"], "--json")
    assert [row["id"] for row in json.loads(related.stdout)] == [int(seeded.own["invoice"])]
    # Saving what he sees back keeps the links he cannot see.
    changed = crm("set", "contract", seeded.own["contract"], f"invoices={seeded.own['invoice']}")
    assert changed.exit_code == 0, changed.stderr
    shown = get_kind("contract").get(admin, seeded.own["contract"])
    assert shown["invoices"] == sorted([int(hidden_invoice), int(seeded.own["invoice"])])
    assert get_kind("invoice").get(admin, seeded.own["invoice"])["contracts"] == sorted(
        [int(seeded.own["contract"]), int(hidden_contract)])


def test_lists_and_forms_show_a_hidden_reference_as_not_visible(scene):
    from crm_tui.services import forms
    from crm_tui.services.rows import Column, RecordRows

    admin, seeded = scene
    outsider = _session_of(admin, "outsider")
    # A lead he owns, managed by the hidden company: the lead is his, the company is not.
    lead = get_kind("lead").create(admin, {"full_name": "His lead", "owner": "outsider",
                                           "company": seeded.hidden["company"][0]})
    source = RecordRows(outsider, "lead", {"full_name": "His lead"},
                        [Column("full_name", "Name", 10), Column("company", "Company", 20)])
    assert source.page(0, 10) == [(lead, ("His lead", "(not visible)"))]
    shown = {d["key"]: d["text"] for d in forms.display(outsider, "lead", lead)}
    assert shown["company"] == "(not visible)"
    described = {d["key"]: d for d in forms.describe(outsider, "lead", lead)}
    assert all(MARKER not in str(d) for d in described.values()), described["company"]
    # The form keeps the reference: saving it unchanged changes nothing.
    values = forms.current_values(outsider, "lead", lead)
    assert forms.submit(outsider, "lead", lead, {**values, "description": "called"}) == lead
    assert get_kind("lead").get(admin, lead)["company"] == int(seeded.hidden["company"][0])


def test_a_title_shared_with_a_hidden_record_names_the_visible_one(scene, any_db):
    admin, seeded = scene
    contract = get_kind("contract")
    contract.create(admin, {"name": "Support", "company": seeded.hidden["company"][0]})
    mine = contract.create(_session_of(admin, "outsider"), {
        "name": "Support", "company": seeded.own["company"]})
    changed = Crm(any_db, "outsider")("set", "contract", seeded.own["contract"],
                                       "related_contract=Support")
    assert changed.exit_code == 0, changed.stderr
    assert contract.get(admin, seeded.own["contract"])["related_contract"] == mine
