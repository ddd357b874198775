"""The generic record use cases (add, set, show, list, delete) that every kind shares.

A kind declares its fields once; parsing, validation, access checks, custom fields and the
--json shape all follow from that declaration, for every face (CLI, TUI, import).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

import peewee

from crm_tui import acl
from crm_tui.db import database, is_postgres, write_transaction
from crm_tui.errors import NotFound, PermissionDenied, Problem, ValidationFailed, shorten
from crm_tui.i18n import _, kind_name
from crm_tui.models import BaseModel, CustomField, CustomValue, User
from crm_tui.services import history, search
from crm_tui.services import values as V
from crm_tui.services.context import Session

#: Up to this many rows, a uniqueness check compares every name in Python.
_SMALL_TABLE = 2000

# Field kinds whose values are free text: filters on them match a substring.
TEXT_KINDS = {"text", "textarea", "email"}


@dataclass(frozen=True)
class Field:
    """One field of a record kind, as the command line, forms and --json name it."""

    name: str
    kind: str = "text"
    attr: str | None = None
    required: bool = False
    max_length: int | None = 200
    choices: tuple[str, ...] = ()
    ref: str | None = None
    readonly: bool = False
    label: str = ""
    #: The model field behind it, set when its kind is registered (`bind_columns`): the
    #: limits of what it holds (length, digits, places, range) are read from there.
    model_field: peewee.Field | None = dataclasses.field(default=None, compare=False,
                                                         repr=False)

    @property
    def column(self) -> str:
        """The model attribute behind the field."""
        return self.attr or self.name

    @property
    def title(self) -> str:
        """A human label for forms and headers."""
        return self.label or self.name.replace("_", " ").capitalize()


def parse_field(session: Session, field: Field, raw: Any) -> Any:
    """Parse one raw value (text from a command line or form, or a JSON value).

    Raises:
        V.BadValue: with a few words saying why.
    """
    return field_parser(session, field)(raw)


def field_parser(session: Session, field: Field) -> Callable[[Any], Any]:
    """The function that parses raw values of one field (what `parse_field` applies).

    The field's kind is looked at once, so a caller parsing a whole column (an import)
    pays only for the value checks. The returned function raises V.BadValue.
    """
    kind = field.kind
    required = field.required
    fits = _fits(field)
    if kind in ("text", "textarea"):
        max_length = None if kind == "textarea" else field.max_length
        single_line = kind == "text"
        parse_text = V.parse_text

        def parse(raw: Any) -> Any:
            text = parse_text(raw, max_length, single_line)
            if required and not text.strip():
                raise V.BadValue(_("required"))
            return text
        return parse
    if kind == "email":
        email_length = field.max_length or 200
        return lambda raw: V.parse_email(raw, required, email_length)
    if kind == "password":
        return V.parse_secret
    if kind in ("int", "decimal", "rate", "date"):
        if kind == "int":
            convert = V.parse_int
        elif kind == "date":
            convert = V.parse_date
        else:
            column = field.model_field
            places = (column.decimal_places if isinstance(column, peewee.DecimalField)
                      else 2 if kind == "decimal" else 3)

            def convert(raw: Any) -> Any:
                return V.parse_decimal(raw, places)

        def parse(raw: Any) -> Any:
            value = convert(raw)
            if value is None and required:
                raise V.BadValue(_("required"))
            return fits(value)
        return parse
    if kind == "datetime":
        return V.parse_datetime
    if kind == "bool":
        return V.parse_bool
    if kind == "choice":
        choices = field.choices

        def parse(raw: Any) -> Any:
            text = "" if raw is None else str(raw).strip().lower()
            if text not in choices:
                raise V.BadValue(_("must be one of {choices}").format(
                    choices=", ".join(choices)))
            return text
        return parse
    if kind == "user":
        def parse(raw: Any) -> Any:
            text = _given_text(raw, required)
            if text is None:
                return None
            user = User.get_or_none(User.login == text)
            if user is None:
                raise V.BadValue(_("no such user"))
            return user
        return parse
    if kind == "ref":
        def parse(raw: Any) -> Any:
            text = _given_text(raw, required)
            return None if text is None else get_kind(field.ref).resolve(session, text)
        return parse
    if kind == "refs":
        def parse(raw: Any) -> Any:
            target = get_kind(field.ref)
            return [target.resolve(session, item) for item in V.parse_list(raw)]
        return parse
    raise AssertionError(f"unknown field kind {kind}")


#: Field kinds that take a JSON number as well as a string.
_NUMBER_KINDS = frozenset({"int", "decimal", "rate", "ref"})


def _fits(field: Field) -> Callable[[Any], Any]:
    """The check that a parsed value fits the field's column (identity when it has none)."""
    column = field.model_field
    if column is None:
        return lambda value: value

    def fits(value: Any) -> Any:
        V.check_fits(column, value)
        return value
    return fits


def bind_columns(model: type[BaseModel], fields: Sequence[Field]) -> tuple[Field, ...]:
    """The fields with their model columns: a text field is never longer than its column.

    A field declared without a length keeps the default only where the column allows it.
    """
    out = []
    for spec in fields:
        column = model._meta.fields.get(spec.column)
        if column is None or isinstance(column, peewee.ForeignKeyField):
            out.append(spec)
            continue
        length = spec.max_length
        if isinstance(column, peewee.CharField):
            length = column.max_length if length is None else min(length, column.max_length)
        out.append(replace(spec, max_length=length, model_field=column))
    return tuple(out)


def json_type_refusal(field: Field, value: Any) -> str | None:
    """Why a value (from --json, or any face) is not of the type the field takes, or None.

    A JSON object or list is never stored as text, and true/false only fills a yes/no
    field; numbers fill numeric fields and references by id.
    """
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, bool):
        return None if field.kind == "bool" else "must be text, not true/false"
    if isinstance(value, int | float):
        if field.kind in _NUMBER_KINDS or field.kind == "bool":
            return None
        return "must be text (a JSON string), not a number"
    if isinstance(value, list | tuple):
        return None if field.kind == "refs" else "must be one value, not a list"
    if isinstance(value, dict):
        return "must be one value, not a JSON object"
    return None


def _given_text(raw: Any, required: bool) -> str | None:
    """A reference's stripped text, or None when none is given (refused if required)."""
    text = "" if raw is None else str(raw).strip()
    if text:
        return text
    if required:
        raise V.BadValue(_("required"))
    return None


def column_parser(field: Field) -> Callable[[Sequence[str]], list[str] | None] | None:
    """For a text field, the parser of a whole column of texts at once (an import).

    The returned function gives what `field_parser` gives each text (the text itself), or
    None when some text is refused (`field_parser` then says why). None for other kinds.
    """
    if field.kind not in ("text", "textarea"):
        return None
    max_length = None if field.kind == "textarea" else field.max_length
    single_line = field.kind == "text"
    required = field.required

    def parse(texts: Sequence[str]) -> list[str] | None:
        parsed = V.parse_texts(texts, max_length, single_line)
        if parsed is None or (required and not all(map(str.strip, texts))):
            return None
        return parsed
    return parse


class NewRecords(Protocol):
    """Many new records of one kind held column by column (what an import checks at once)."""

    #: How many records there are.
    count: int

    def column(self, name: str) -> Sequence[Any]:
        """Each record's value of a model field, by position (a reference as its key)."""
        ...

    def given(self, name: str) -> bool | None:
        """Whether the parsed values hold a field: of every record, of none, or (None) of some."""
        ...


class Kind:
    """A record kind: its model, fields and rules. Subclasses fill in the class variables."""

    name: ClassVar[str]
    model: ClassVar[type[BaseModel]]
    fields: ClassVar[tuple[Field, ...]]
    #: The attribute that names a record in messages.
    title_attr: ClassVar[str] = "name"
    #: Which custom fields apply: "company", "contact", or a type attribute for typed kinds.
    custom_entity: ClassVar[str | None] = None
    custom_type_attr: ClassVar[str | None] = None
    #: Default ordering of lists.
    order_attr: ClassVar[str] = "id"
    #: Screens list the newest first (by `order_attr`); the CLI keeps ascending order.
    newest_first: ClassVar[bool] = False
    #: Extra filters beyond field equality, by name.
    extra_filters: ClassVar[tuple[str, ...]] = ()

    # --- access rules (override) ------------------------------------------------------------

    def view_expr(self, session: Session) -> peewee.Expression:
        """Which rows the acting user may see."""
        if not acl.can_read_catalogue(session.user):
            return peewee.SQL("1 = 0")
        return peewee.SQL("1 = 1")

    def check_view(self, session: Session, obj: BaseModel) -> None:
        """Raise PermissionDenied unless the user may see `obj`."""
        if not acl.can_read_catalogue(session.user):
            raise PermissionDenied(_("{login} may not view {record}").format(login=session.login, record=self.label(obj)))

    def check_write_any(self, session: Session) -> None:
        """Raise PermissionDenied unless the user may change records of this kind at all."""
        if not acl.can_manage_catalogue(session.user):
            raise PermissionDenied(_("{login} may not change {kind} records").format(login=session.login, kind=kind_name(self.name)))

    def check_modify(self, session: Session, obj: BaseModel) -> None:
        """Raise PermissionDenied unless the user may change `obj` (before and after edits)."""
        self.check_write_any(session)

    def check_delete(self, session: Session, obj: BaseModel) -> None:
        """Raise PermissionDenied unless the user may delete `obj`."""
        self.check_modify(session, obj)

    def can_modify(self, session: Session, obj: BaseModel) -> bool:
        """True when check_modify passes."""
        try:
            self.check_modify(session, obj)
        except PermissionDenied:
            return False
        return True

    # --- hooks (override) -------------------------------------------------------------------

    def defaults(self, session: Session, obj: BaseModel) -> None:
        """Set values a new record starts with."""

    def validate(self, session: Session, obj: BaseModel, parsed: dict, problems: list) -> None:
        """Cross-field rules; append Problems."""

    def before_save(self, session: Session, obj: BaseModel, created: bool) -> None:
        """Set derived values (timestamps) just before the row is written."""

    def after_save(self, session: Session, obj: BaseModel, parsed: dict, created: bool) -> None:
        """Write what hangs off the row (links, lines); inside the same transaction."""

    def before_delete(self, session: Session, obj: BaseModel) -> None:
        """Remove or refuse what hangs off the row; inside the delete transaction."""

    # --- the same hooks for many new records at once (imports) ------------------------------
    # A batch form stands for the per-record hook of the class that defines both: where a
    # subclass overrides the hook alone, the import runs that hook per record instead.

    #: The model fields `check_modify` reads besides the session: new records alike in
    #: these get the same answer, so an import asks once per distinct combination.
    modify_fields: ClassVar[tuple[str, ...]] = ()

    def validate_many(self, session: Session,
                      records: NewRecords) -> list[tuple[int, Problem]] | None:
        """`validate` of new records: (position, problem), each record's in `validate`'s order.

        None: no batch form for these records (`validate` then runs per record).
        """
        return []

    def before_save_many(self, session: Session, records: NewRecords) -> dict[str, Any] | None:
        """What `before_save` sets on every new record alike, by model field (None: no form)."""
        return {}

    def derived_many(self, session: Session, records: NewRecords) -> dict[str, Sequence[Any]]:
        """Columns `before_save` derives per record (search keys, the manager's company), for
        an import that writes `before_save_many`'s values: each record's value by position."""
        return {}

    def extra_filter(self, session: Session, name: str, value: str) -> peewee.Expression:
        """An expression for one of `extra_filters`."""
        raise AssertionError(name)

    def decorate(self, session: Session, rows: list[dict]) -> None:
        """Add derived keys to output rows in bulk (no query per row)."""

    # --- helpers ----------------------------------------------------------------------------

    def label(self, obj: BaseModel | None, fallback: str = "") -> str:
        """How messages name a record: kind plus its title, or its id."""
        if obj is None:
            return f"{kind_name(self.name)} {fallback}".strip()
        title = getattr(obj, self.title_attr, None)
        if isinstance(title, str) and title.strip():
            return titled(self.name, title)
        if obj.id:
            return f"{kind_name(self.name)} #{obj.id}"
        return _("new {kind}").format(kind=kind_name(self.name))

    def stored_label(self, obj: BaseModel) -> str:
        """How text kept in the database names a record (history, notes), read later by
        people of any language: the kind's English word and the title, never translated."""
        title = getattr(obj, self.title_attr, None)
        if isinstance(title, str) and title.strip():
            return f"{self.name} {shorten(V.collapse_spaces(title))!r}"
        return f"{self.name} #{obj.id}"

    def field(self, name: str) -> Field | None:
        """The field of that name, or None."""
        for field in self.fields:
            if field.name == name:
                return field
        return None

    def can_view(self, session: Session, obj: BaseModel) -> bool:
        """True when check_view passes."""
        try:
            self.check_view(session, obj)
        except PermissionDenied:
            return False
        return True

    def visible_or_missing(self, session: Session, obj: BaseModel | None,
                           ref: object) -> BaseModel:
        """`obj` when it exists and the user may see it; otherwise the answer for a record
        that does not exist (`not_found`), whichever of the two it is.

        Raises:
            NotFound: no such record, or one the user may not see.
        """
        if obj is None or not self.can_view(session, obj):
            raise not_found(self.name, ref)
        return obj

    def resolve(self, session: Session, text: str) -> BaseModel:
        """A reference by id (or title) to a record the user may see.

        A record the user may not see is answered exactly like one that does not exist;
        a title shared with hidden records names the visible one.

        Raises:
            V.BadValue: no such record, or not one the user may see.
        """
        candidates: list[BaseModel] = []
        if str(text).isdigit():
            candidates = list(self.model.select().where(self.model.id == int(text)))
        elif self.title_attr and hasattr(self.model, self.title_attr):
            # Among the records of that title, those the user may see (the first by id).
            column = getattr(self.model, self.title_attr)
            candidates = list(self.model.select().where(column == text, self.view_expr(session))
                              .order_by(self.model.id).limit(1))
        for obj in candidates:
            if self.can_view(session, obj):
                return obj
        raise V.BadValue(_("no such {kind}").format(kind=kind_name(self.name)))

    def load(self, session: Session, record_id: int | str) -> BaseModel:
        """Fetch a record the user may see, by id or by a unique title.

        Raises:
            NotFound: no such record, or one the user may not see (the same answer).
        """
        obj = None
        if isinstance(record_id, int) or str(record_id).strip().isdigit():
            obj = self.model.get_or_none(self.model.id == int(record_id))
        else:
            # A unique title names a record too (`crm show user admin`).
            column = getattr(self.model, self.title_attr, None)
            if isinstance(column, peewee.Field) and column.unique:
                obj = self.model.get_or_none(column == str(record_id))
        return self.visible_or_missing(session, obj, record_id)

    # --- custom fields ----------------------------------------------------------------------

    def custom_fields_for(self, obj: BaseModel | None) -> list[CustomField]:
        """The custom fields that apply to `obj` (by entity, and by type for typed kinds)."""
        if self.custom_entity is None:
            return []
        query = CustomField.select().where(CustomField.entity == self.custom_entity)
        if self.custom_type_attr is not None:
            type_id = getattr(obj, self.custom_type_attr + "_id", None) if obj else None
            if type_id is None:
                return []
            query = query.where(CustomField.entity_type_id == type_id)
        return list(query.order_by(CustomField.position, CustomField.id))

    def custom_values(self, record_ids: list[int]) -> dict[int, dict[str, str]]:
        """Custom values of many records at once: {record_id: {field name: value}}."""
        if self.custom_entity is None or not record_ids:
            return {}
        fields = {
            f.id: f.name
            for f in CustomField.select(CustomField.id, CustomField.name).where(
                CustomField.entity == self.custom_entity
            )
        }
        if not fields:
            return {}
        out: dict[int, dict[str, str]] = {}
        for chunk in _chunks(record_ids, 500):
            rows = (
                CustomValue.select(CustomValue.field, CustomValue.record_id, CustomValue.value)
                .where(CustomValue.field.in_(list(fields)), CustomValue.record_id.in_(id_list(chunk)))
                .tuples()
            )
            for field_id, record_id, value in rows:
                out.setdefault(record_id, {})[fields[field_id]] = value
        return out

    # --- the use cases ----------------------------------------------------------------------

    def parse(
        self, session: Session, obj: BaseModel, raw: dict[str, Any], creating: bool
    ) -> tuple[dict[str, Any], dict[str, str], list[Problem]]:
        """Parse raw values onto `obj`; returns (parsed, custom raw values, problems)."""
        problems: list[Problem] = []
        parsed: dict[str, Any] = {}
        custom: dict[str, str] = {}
        label = self.label(obj) if not creating else self._new_label(raw)
        for key, value in raw.items():
            if key == "custom" and isinstance(value, dict):
                custom.update({str(k): v for k, v in value.items()})
                continue
            if key.startswith("custom."):
                custom[key[len("custom."):]] = value
                continue
            field = self.field(key)
            if field is None:
                problems.append(Problem(label, key, _show(value), _("unknown field")))
                continue
            if field.readonly:
                problems.append(Problem(label, key, _show(value), _("is derived and cannot be set")))
                continue
            wrong_type = json_type_refusal(field, value)
            if wrong_type:
                problems.append(Problem(label, key, _show(value), wrong_type))
                continue
            try:
                parsed[key] = parse_field(session, field, value)
            except V.BadValue as exc:
                # A refused password is never repeated back, not even in an error line.
                shown = "(hidden)" if field.kind == "password" else _show(value)
                problems.append(Problem(label, key, shown, str(exc)))
        if creating:
            for field in self.fields:
                if field.required and field.name not in raw and not field.readonly:
                    problems.append(Problem(label, field.name, "", _("required")))
        for key, value in parsed.items():
            field = self.field(key)
            if field.kind != "refs" and field.kind != "password":
                setattr(obj, field.column, value)
        return parsed, custom, problems

    def _new_label(self, raw: dict[str, Any]) -> str:
        title = raw.get(self.title_attr) if self.title_attr else None
        # Only a text names a record: a JSON object or list given as the title does not.
        if isinstance(title, str) and title.strip():
            return titled(self.name, title)
        return _("new {kind}").format(kind=kind_name(self.name))

    def check_custom(
        self, obj: BaseModel, custom: dict[str, Any], problems: list[Problem]
    ) -> dict[CustomField, str]:
        """Validate custom values by their field's kind; returns {field: stored text}."""
        from crm_tui.services.custom_fields import parse_custom_value

        applicable = {f.name: f for f in self.custom_fields_for(obj)}
        out: dict[CustomField, str] = {}
        for name, value in custom.items():
            field = applicable.get(name)
            if field is None:
                problems.append(Problem(self.label(obj), f"custom.{name}", _show(value),
                                        _("no such custom field here")))
                continue
            try:
                out[field] = parse_custom_value(field, value)
            except V.BadValue as exc:
                problems.append(Problem(self.label(obj), f"custom.{name}", _show(value), str(exc)))
        return out

    def check_unique(self, obj: BaseModel, problems: list[Problem]) -> None:
        """Report a duplicate of any unique column before the database refuses it."""
        for field in self.fields:
            model_field = getattr(self.model, field.column, None)
            if not isinstance(model_field, peewee.Field) or not model_field.unique:
                continue
            value = getattr(obj, field.column)
            if value in (None, ""):
                continue
            if self._name_taken(model_field, value, obj.id):
                problems.append(Problem(self.label(obj), field.name, _show(value),
                                        _("another {kind} already has it").format(kind=kind_name(self.name))))

    def _name_taken(self, column: peewee.Field, value: Any, own_id: int | None) -> bool:
        """Does another record hold this unique value, as people compare names?

        Texts compare by `V.name_key` (NFKC, case-folded): `ACME` and `Acme` are one name.
        The database's lower() (indexed, see migration 0050) finds the candidates; Python's
        rule decides, since SQLite's lower() folds ASCII letters only.
        """
        others = self.model.select(self.model.id, column)
        if own_id is not None:
            others = others.where(self.model.id != own_id)
        if not isinstance(value, str):
            return others.where(column == value).exists()
        if self.model.select(self.model.id).limit(_SMALL_TABLE + 1).count() > _SMALL_TABLE:
            others = others.where((column == value) | (peewee.fn.LOWER(column) == value.lower()))
        # else: catalogues are small, every name is compared, so accented capitals match too.
        key = V.name_key(value)
        return any(V.name_key(other or "") == key for _id, other in others.tuples())

    def _checked(self, session: Session, obj: BaseModel, raw: dict[str, Any],
                 creating: bool) -> tuple[dict[str, Any], dict[CustomField, str]]:
        """Parse raw values onto `obj` and apply every rule: (parsed, custom values to store).

        Raises:
            ValidationFailed: every problem found (nothing written).
        """
        parsed, custom, problems = self.parse(session, obj, raw, creating=creating)
        self.validate(session, obj, parsed, problems)
        self.check_unique(obj, problems)
        custom_values = self.check_custom(obj, custom, problems)
        if problems:
            raise ValidationFailed(problems)
        return parsed, custom_values

    def create(self, session: Session, raw: dict[str, Any]) -> int:
        """Add a record; returns its id.

        Raises:
            PermissionDenied, ValidationFailed (nothing written).
        """
        self.check_write_any(session)
        obj = self.model()
        self.defaults(session, obj)
        parsed, custom_values = self._checked(session, obj, raw, creating=True)
        self.check_modify(session, obj)
        try:
            with write_transaction():
                self.before_save(session, obj, True)
                obj.save(force_insert=True)
                self._save_custom(obj, custom_values)
                self.after_save(session, obj, parsed, True)
                if self.name in search.FIELDS:
                    search.reindex(self.name, [obj.id])
                history.record(session, self.name, obj.id, "create",
                               self._changes({}, self._snapshot(session, obj.id), parsed))
        except peewee.IntegrityError:
            raise self._lost_race(obj) from None
        return obj.id

    def update(self, session: Session, record_id: int | str, raw: dict[str, Any],
               unchanged_since: dt.datetime | None = None) -> None:
        """Change fields of a record.

        Args:
            unchanged_since: when the caller read the record (a form opened, a script's
                `--if-unchanged-since`): a field it changes that someone else changed after
                that refuses the whole change.

        Raises:
            NotFound, PermissionDenied, ValidationFailed, Conflict (nothing written).
        """
        try:
            with write_transaction():
                obj = self._locked(self.load(session, record_id), session)
                before = dict(obj.__data__)
                old = self._snapshot(session, obj.id)
                self.check_modify(session, obj)
                parsed, custom_values = self._checked(session, obj, raw, creating=False)
                # The changed record must still be one the user may change (a new manager).
                self.check_modify(session, obj)
                self.before_save(session, obj, False)
                # Only the fields this change touched are written: another operator's change
                # to other fields of the same record, committed meanwhile, is kept.
                changed = [f for f in self.model._meta.sorted_fields
                           if f.name in obj.__data__ and obj.__data__[f.name] != before.get(f.name)]
                if changed:
                    obj.save(only=changed)
                self._save_custom(obj, custom_values)
                self.after_save(session, obj, parsed, False)
                if self.name in search.FIELDS:
                    search.reindex(self.name, [obj.id])
                changes = self._changes(old, self._snapshot(session, obj.id), parsed)
                if unchanged_since is not None:
                    history.refuse_if_changed(self.name, obj.id, changes, unchanged_since)
                history.record(session, self.name, obj.id, "change", changes)
        except peewee.IntegrityError:
            raise self._lost_race(obj) from None

    def _snapshot(self, session: Session, record_id: int) -> dict:
        """A record's fields and custom values as history compares them (references as
        ids; secrets left out: `_changes` marks them)."""
        rows = self.present(session, list(
            self.model.select().where(self.model.id == record_id).dicts()))
        return self._snapshot_of(rows[0]) if rows else {}

    def _snapshot_of(self, row: dict) -> dict:
        """A presented row as history compares it."""
        wanted = self._history_fields()
        out = {k: v for k, v in row.items() if k in wanted}
        out.update({f"custom.{k}": v for k, v in (row.get("custom") or {}).items()})
        return out

    def _history_fields(self) -> frozenset[str]:
        """The fields history keeps (an import asks once per record: worked out once)."""
        wanted = self.__dict__.get("_history_field_names")
        if wanted is None:
            # Derived fields (last update, billing) follow from the others: not history.
            wanted = self.__dict__["_history_field_names"] = frozenset(
                f.name for f in self.fields if f.kind != "password" and not f.readonly)
        return wanted

    def _changes(self, before: dict, after: dict, parsed: dict) -> dict[str, list]:
        """What history records of a write: each changed field's old and new value, and a
        given secret as changed, never with its value."""
        changes = history.diff(before, after)
        for field in self.fields:
            if field.kind == "password" and field.name in parsed:
                changes[field.name] = [history.SECRET if before else None, history.SECRET]
        return changes

    def _locked(self, obj: BaseModel, session: Session | None = None) -> BaseModel:
        """The record read again under a row lock (PostgreSQL), so that checks and the write
        see the latest committed values; SQLite already holds the write lock from BEGIN.

        Raises:
            PermissionDenied: an operator's role may lock only rows it may change (row-level
                security, crm_tui.rls): a row it only views is refused here, in words.
            NotFound: the record was deleted meanwhile.
        """
        if not is_postgres():
            return obj
        locked = self.model.select().where(self.model.id == obj.id).for_update().get_or_none()
        if locked is None:
            if session is None:
                raise NotFound(_("{kind} {ref} does not exist").format(kind=kind_name(self.name), ref=obj.id))
            self.check_modify(session, obj)
            return self.visible_or_missing(session, None, obj.id)
        return locked

    def _lost_race(self, obj: BaseModel) -> ValidationFailed:
        """The refusal for a write the database's unique index stopped: the ordinary
        "already has it" line when another process took the name at the same moment."""
        problems: list[Problem] = []
        self.check_unique(obj, problems)
        return ValidationFailed(problems or [Problem(
            self.label(obj), "id", "" if obj.id is None else str(obj.id),
            _("conflicts with a record written at the same moment: try again"))])

    def delete(self, session: Session, record_id: int | str) -> None:
        """Delete a record.

        Its attachment rows go in the same transaction; their files are removed only once
        the delete has committed (a rolled-back delete keeps them).

        Raises:
            NotFound, PermissionDenied, ValidationFailed (it is still referenced).
        """
        from crm_tui.services import attachments

        with write_transaction():
            obj = self.load(session, record_id)
            self.check_delete(session, obj)
            history.record(session, self.name, obj.id, "delete",
                           history.diff(self._snapshot(session, obj.id), {}))
            self.before_delete(session, obj)
            if self.custom_entity is not None:
                CustomValue.delete().where(
                    CustomValue.record_id == obj.id,
                    CustomValue.field.in_(
                        CustomField.select(CustomField.id).where(
                            CustomField.entity == self.custom_entity
                        )
                    ),
                ).execute()
            stored = attachments.drop_rows(self.name, obj.id)
            try:
                with database.atomic():
                    obj.delete_instance()
            except peewee.IntegrityError:
                raise ValidationFailed.one(self.label(obj), "id", obj.id,
                                           _("other records still refer to it")) from None
        attachments.remove_files(stored)

    def _save_custom(self, obj: BaseModel, custom_values: dict[CustomField, str]) -> None:
        for field, text in custom_values.items():
            updated = (
                CustomValue.update(value=text)
                .where(CustomValue.field == field.id, CustomValue.record_id == obj.id)
                .execute()
            )
            if not updated:
                CustomValue.create(field=field.id, record_id=obj.id, value=text)

    def query(self, session: Session, filters: dict[str, str] | None = None) -> peewee.Select:
        """The rows the user may see, narrowed by filters (field=value).

        Text fields match a case-insensitive substring; other fields match exactly.

        Raises:
            ValidationFailed: an unknown filter or a value that does not parse.
        """
        query = self.model.select().where(self.view_expr(session))
        problems: list[Problem] = []
        for key, value in (filters or {}).items():
            if key in self.extra_filters:
                try:
                    query = query.where(self.extra_filter(session, key, value))
                except V.BadValue as exc:
                    problems.append(Problem(_("{kind} filter").format(kind=kind_name(self.name)), key, value, str(exc)))
                continue
            if key.startswith("custom."):
                query = query.where(self._custom_filter(key[7:], value))
                continue
            field = self.field(key)
            column = getattr(self.model, field.column, None) if field else None
            if field is None or not isinstance(column, peewee.Field):
                problems.append(Problem(_("{kind} filter").format(kind=kind_name(self.name)), key, value, _("unknown field")))
                continue
            if field.kind in TEXT_KINDS:
                # Names, emails and company names go through the search index: accents and
                # case do not matter, and typed words match word starts through an index.
                code = search.field_code(self.name, field.column)
                query = query.where(column.contains(value) if code is None else search.match(
                    self.name, value, (code,), column.contains(value), required=True))
                continue
            try:
                parsed = parse_field(session, field, value)
            except V.BadValue as exc:
                problems.append(Problem(_("{kind} filter").format(kind=kind_name(self.name)), key, value, str(exc)))
                continue
            query = query.where(column.is_null() if parsed is None else column == parsed)
        if problems:
            raise ValidationFailed(problems)
        return query

    def _custom_filter(self, name: str, value: str) -> peewee.Expression:
        fields = CustomField.select(CustomField.id).where(
            CustomField.entity == self.custom_entity, CustomField.name == name
        )
        matching = CustomValue.select(CustomValue.record_id).where(
            CustomValue.field.in_(fields), CustomValue.value == value
        )
        return self.model.id.in_(matching)

    def rows(self, session: Session, query: peewee.Select) -> list[dict]:
        """Output rows in the --json shape for the records a query selects."""
        raw_rows = list(query.dicts())
        return self.present(session, raw_rows)

    def converters(self, sample: dict, wanted: Collection[str] | None = None
                   ) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
        """How `present` turns each column of rows like `sample` into its --json value:
        (field name, column, conversion or None), for the `wanted` fields (default all)."""
        logins = user_logins() if any(f.kind == "user" for f in self.fields) else {}
        columns = []
        for field in self.fields:
            if field.kind in ("password", "refs") or field.column not in sample:
                continue
            if wanted is not None and field.name not in wanted:
                continue
            convert = {"user": logins.get, "decimal": _money_text, "rate": V.render,
                       "date": V.render, "datetime": V.render}.get(field.kind)
            columns.append((field.name, field.column, convert))
        return columns

    def present(self, session: Session, raw_rows: list[dict], *,
                custom: dict[int, dict[str, str]] | None = None,
                decorated: bool = True) -> list[dict]:
        """Turn `.dicts()` rows into the --json shape, in bulk.

        `custom`: the rows' custom values when the caller has them (else they are read);
        `decorated=False` leaves out what `decorate` derives.
        """
        # Work out once per list how each column converts; lists can be long.
        columns = self.converters(raw_rows[0] if raw_rows else {})
        out = []
        for raw in raw_rows:
            row: dict[str, Any] = {"id": raw["id"]}
            for name, column, convert in columns:
                value = raw[column]
                row[name] = value if convert is None or value is None else convert(value)
            out.append(row)
        if self.custom_entity is not None:
            if custom is None:
                custom = self.custom_values([r["id"] for r in out])
            for row in out:
                row["custom"] = custom.get(row["id"], {})
        if decorated:
            self.decorate(session, out)
        return out

    def list(
        self,
        session: Session,
        filters: dict[str, str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict]:
        """The visible records matching the filters, in the --json shape."""
        query = self.query(session, filters).order_by(getattr(self.model, self.order_attr))
        if limit is not None or offset:
            query = query.limit(limit).offset(offset or None)
        return self.rows(session, query)

    def stream(
        self,
        session: Session,
        filters: dict[str, str] | None = None,
        offset: int = 0,
        page: int = 500,
    ) -> Iterator[dict]:
        """The visible records matching the filters in list order, in the --json shape, read
        a page at a time (keyset on the sort column and id): constant memory at any size.

        Raises:
            ValidationFailed: a bad filter (before anything is yielded: the query is built
                first).
        """
        model = self.model
        sort = getattr(self.model, self.order_attr)
        by_id = sort is model.id
        order = [model.id] if by_id else [sort, model.id]
        query = self.query(session, filters)
        return self._stream_pages(session, query, order, offset, page)

    def _stream_pages(self, session: Session, query: peewee.Select, order: list,
                      offset: int, page: int) -> Iterator[dict]:
        model = self.model
        sort = order[0]
        last: tuple | None = None
        while True:
            step = query
            if last is not None:
                step = step.where(model.id > last[-1] if len(order) == 1 else
                                  peewee.Tuple(sort, model.id)
                                  > peewee.Tuple(sort.to_value(last[0]), last[1]))
            step = step.order_by(*order).limit(page)
            if last is None and offset:
                step = step.offset(offset)
            raw = list(step.dicts())
            if not raw:
                return
            last = (raw[-1][sort.name], raw[-1]["id"])
            yield from self.present(session, raw)
            if len(raw) < page:
                return

    def get(self, session: Session, record_id: int | str) -> dict:
        """One visible record in the --json shape."""
        obj = self.load(session, record_id)
        return self.rows(session, self.model.select().where(self.model.id == obj.id))[0]


def id_list(ids: Iterable[int]) -> peewee.NodeList:
    """Record ids for an IN (...) as SQL literals. Each is made an int, so nothing else can
    get in; a page of 500 ids then costs no per-parameter work in the query builder (a
    fifth of a large export's time went there)."""
    return peewee.NodeList([peewee.SQL(",".join(str(int(i)) for i in ids) or "NULL")],
                           parens=True)


def not_found(kind: str, ref: object) -> NotFound:
    """The one answer for a record that does not exist or that the acting user may not see.

    Both read the same (SPEC 1, "Nothing leaks"): the kind and the reference as given,
    nothing else about the record.
    """
    return NotFound(_("{kind} {ref} does not exist").format(kind=kind_name(kind), ref=ref))


def _money_text(value: Any) -> str:
    return format(V.money(value), "f")


def user_logins() -> dict[int, str]:
    """Every user's login by id; users are few, so one query serves a whole list."""
    return dict(User.select(User.id, User.login).tuples())


def titled(kind: str, title: str) -> str:
    """How an error line names a record: its kind (in the user's language) and its title,
    shortened to one line."""
    return f"{kind_name(kind)} {shorten(V.collapse_spaces(title))!r}"


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_REGISTRY: dict[str, Kind] = {}


def register(kind_class: type[Kind]) -> type[Kind]:
    """Class decorator: make a kind available by its name."""
    kind_class.fields = bind_columns(kind_class.model, kind_class.fields)
    _REGISTRY[kind_class.name] = kind_class()
    return kind_class


#: Which module defines each kind, so a command loads only the kinds it touches.
KIND_MODULES = {
    "company": "companies", "role": "companies", "contact": "contacts",
    "contract": "contracts", "contract-type": "contracts", "template": "contracts",
    "invoice": "invoices", "lead": "leads", "lead-type": "leads", "tag": "leads",
    "mail-template": "templates", "field": "custom_fields", "section": "custom_fields",
    "user": "users", "profile": "users",
}


def _load_all_kinds() -> None:
    import crm_tui.services.kinds  # noqa: F401  (each kind module registers itself)


def get_kind(name: str) -> Kind:
    """The kind of that name (company, lead, …), importing its module on first use.

    Raises:
        KeyError: no such kind.
    """
    if name not in _REGISTRY:
        if name not in KIND_MODULES:
            raise KeyError(name)
        import importlib

        importlib.import_module(f"crm_tui.services.{KIND_MODULES[name]}")
    return _REGISTRY[name]


def kind_names() -> list[str]:
    """Every registered kind name."""
    _load_all_kinds()
    return list(_REGISTRY)
