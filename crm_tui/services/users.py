"""Users, profiles, logging in, and the admin that a new database gets."""

from __future__ import annotations

import hashlib
import hmac
import os
import pwd
import secrets

from crm_tui import acl, db
from crm_tui.acl import ALL_BITS
from crm_tui.errors import PermissionDenied, Problem, ValidationFailed
from crm_tui.i18n import _, kind_name
from crm_tui.models import Company, Profile, User, UserProfile
from crm_tui.services import values as V
from crm_tui.services.context import Clock, Session
from crm_tui.services.records import Field, Kind, register

#: scrypt cost: 64 MiB and about 0.2 s per check (OWASP's N=2^16, r=8 class); stored in each
#: hash, so raising it later upgrades old hashes at their next successful check.
_SCRYPT_N = 2**16
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16
_DIGEST_BYTES = 32
#: Iterations of new PBKDF2 hashes (only the tests make these now: old databases hold them).
_HASH_ROUNDS = 200_000
#: The shortest password accepted when one is set.
MIN_PASSWORD_LENGTH = 8

#: The one answer for an unknown user, a disabled one and a wrong password alike, so that
#: the message never tells whether a login exists.
_LOGIN_REFUSED = "unknown user or wrong password for {login!r}"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem: OpenSSL's default (32 MiB) is below what n=2^16, r=8 needs (128*n*r bytes).
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r + 1024 * 1024, dklen=_DIGEST_BYTES)


def hash_password(password: str) -> str:
    """A scrypt hash of a password with a random per-user salt, as stored.

    The format is `scrypt$N$r$p$SALT$DIGEST` (hex), so the cost travels with the hash.
    """
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def pbkdf2_hash(password: str, rounds: int | None = None) -> str:
    """A salted PBKDF2-SHA256 hash in the format older databases hold (tests make these)."""
    rounds = rounds or _HASH_ROUNDS
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), rounds)
    return f"pbkdf2_sha256${rounds}${salt}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """True when `password` matches the stored hash (scrypt, or the older PBKDF2).

    The digests are compared in constant time; a malformed hash matches nothing.
    """
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            candidate = _scrypt(password, bytes.fromhex(parts[4]), n, r, p)
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            candidate = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                            bytes.fromhex(parts[2]), int(parts[1]))
        else:
            return False
        expected = bytes.fromhex(parts[-1])
    except (ValueError, OverflowError, MemoryError):
        return False
    return hmac.compare_digest(candidate, expected)


def needs_rehash(stored: str) -> bool:
    """True when a hash is not scrypt at today's cost (e.g. an old PBKDF2 one)."""
    parts = stored.split("$")
    if parts[0] != "scrypt" or len(parts) != 6:
        return True
    try:
        n, r, p = (int(x) for x in parts[1:4])
    except ValueError:
        return True
    return n < _SCRYPT_N or r < _SCRYPT_R or p < _SCRYPT_P


def _spend_a_check(password: str | None) -> None:
    """Hash once for nothing, so that refusing without a stored hash takes as long."""
    _scrypt(password or "", bytes(_SALT_BYTES), _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)


def verify_password(user: User, password: str | None) -> bool:
    """True when `password` is `user`'s; an old or weaker hash is replaced by a scrypt one.

    A user without a password matches nothing (they act only through their OS login).
    """
    stored = stored_hash(user.id)
    if password is None or not stored:
        _spend_a_check(password)
        return False
    if not check_password(stored, password):
        return False
    if needs_rehash(stored):
        with db.write_transaction():
            User.update(password_hash=hash_password(password)).where(
                User.id == user.id, User.password_hash == stored).execute()
    return True


def stored_hash(user_id: int) -> str:
    """The user's stored password hash ("" when none): read only here, by name (the
    model's plain selects leave it out)."""
    row = User.select(User.password_hash).where(User.id == user_id).tuples().first()
    return (row[0] or "") if row else ""


def check_new_password(label: str, password: str) -> None:
    """Refuse a password too short to set (the value itself never appears in the message).

    Raises:
        ValidationFailed.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.one(label, "password", "(hidden)",
                                   _("must have at least {length} characters").format(length=MIN_PASSWORD_LENGTH))


def os_login() -> str:
    """The login of this process's real uid, from the password database.

    Never LOGNAME, USER or any other environment variable: anyone can set those. A uid
    without a passwd entry (some containers) is named `#UID`, which a user can be linked to.
    """
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def linked_user() -> User | None:
    """The CRM user linked to this process's OS login, if any."""
    return User.get_or_none(User.os_login == os_login())


def session_for(
    login: str | None, password: str | None = None, *, clock: Clock | None = None
) -> Session:
    """Open a session as `login` (default: the user linked to the OS login).

    Acting as another user needs that user's password, unless the OS login is linked to an
    enabled superadmin (who may act as anyone, to see what they see). An unknown user, a
    disabled one and a wrong password get the same answer.

    Raises:
        PermissionDenied: no linked user, or the login was refused.
    """
    clock = clock or Clock()
    if db.is_postgres():
        mapped = _role_session(login, clock)
        if mapped is not None:
            return mapped
    me = linked_user()
    if login is None:
        if me is None or not me.enabled:
            raise PermissionDenied(
                _("no CRM user is linked to the OS login {os_login!r}: use --user LOGIN").format(os_login=os_login())
            )
        return Session(me, clock)
    user = User.get_or_none(User.login == login)
    if user is not None and user.enabled and me is not None and me.enabled:
        if me.id == user.id or me.superadmin:
            return Session(user, clock)
    if user is None:
        _spend_a_check(password)
        raise PermissionDenied(_LOGIN_REFUSED.format(login=login))
    if not verify_password(user, password) or not user.enabled:
        raise PermissionDenied(_LOGIN_REFUSED.format(login=login))
    return Session(User.get_by_id(user.id), clock)


def _role_session(login: str | None, clock: Clock) -> Session | None:
    """On PostgreSQL, the session of the user mapped to the connection's role (None when
    connected as the owner of the tables: then the OS login and --user decide).

    The role is who the server lets in, so it decides: `--user` may name only that user
    (a superadmin may name anyone, to see what they see).

    Raises:
        PermissionDenied: the role is no enabled user's, or --user names another user.
    """
    from crm_tui.services.database import role_user

    uid = role_user()
    if uid is None:
        return None
    me = User.get_by_id(uid)
    if login is None or login == me.login:
        return Session(me, clock)
    other = User.get_or_none(User.login == login) if me.superadmin else None
    if other is None or not other.enabled:
        raise PermissionDenied(_("connected as the database role {db_role!r}, you act as "
                                 "{login!r}: --user {login2} needs that user's role").format(db_role=me.db_role, login=me.login, login2=login))
    return Session(other, clock)


def change_own_password(session: Session, current: str | None, new: str) -> None:
    """Set the acting user's password; the current one is needed when one is set.

    Raises:
        PermissionDenied: the current password is wrong (or missing).
        ValidationFailed: the new one is too short.
    """
    _refuse_on_role_connection()
    user = User.get_by_id(session.user.id)
    label = f"{kind_name('user')} {user.login!r}"
    if stored_hash(user.id) and not verify_password(user, current or ""):
        raise PermissionDenied(_("wrong current password for {login!r}").format(login=user.login))
    check_new_password(label, new)
    with db.write_transaction():
        User.update(password_hash=hash_password(new)).where(User.id == user.id).execute()


def has_password(session: Session) -> bool:
    """Whether the acting user has a password set (so that changing it asks for it)."""
    _refuse_on_role_connection()
    return bool(stored_hash(session.user.id))


def _refuse_on_role_connection() -> None:
    """An operator connected as his own PostgreSQL role logs in with the role's password:
    the CRM password is not his to read or change there (crm_tui.rls).

    Raises:
        PermissionDenied.
    """
    from crm_tui.services.database import operator_connection

    if operator_connection():
        raise PermissionDenied(_("connected as your own database role, your password is the "
                                 "role's: change it in psql with \\password"))


def ensure_admin(clock: Clock | None = None) -> User | None:
    """On a database without users, the superadmin `admin`, linked to this OS login.

    Only an empty user table gets one: otherwise whoever opened the database after `admin`
    was renamed or deleted would become a superadmin.
    """
    if User.select().exists():
        return None
    with db.write_transaction():
        if User.select().exists():
            return None
        return User.create(login="admin", real_name="Administrator", superadmin=True,
                           os_login=os_login())


def enabled_superadmins(excluding: int | None = None) -> int:
    """How many enabled superadmins there are (other than user `excluding`)."""
    query = User.select(User.id).where(User.superadmin == True,  # noqa: E712
                                       User.enabled == True)  # noqa: E712
    if excluding is not None:
        query = query.where(User.id != excluding)
    if db.is_postgres():
        # Lock the rows counted, so that two transactions cannot each demote "the other"
        # superadmin (FOR UPDATE does not go with count(), hence the list).
        return len(list(query.for_update()))
    return query.count()


def may_recover_superadmin() -> bool:
    """Whether this process may name a new superadmin without a session.

    Root may; on SQLite so may the OS owner of the database file (who can change its raw
    contents anyway). On PostgreSQL only root.
    """
    uid = os.getuid()
    if uid == 0:
        return True
    if not db.is_sqlite():
        return False
    path = db.database.obj.database
    try:
        return os.stat(path).st_uid == uid
    except (OSError, TypeError):
        return False


def recover_superadmin(login: str, *, password: str | None = None,
                       link_os_login: str | None = None) -> tuple[User, list[str]]:
    """Create or promote `login` to an enabled superadmin when no enabled one is left.

    Links the user to `link_os_login` (default: this process's OS login) when the user has
    no link yet and that OS login is free; sets `password` when given. Returns the user and
    notes for the operator.

    Raises:
        PermissionDenied: neither root nor (on SQLite) the owner of the database file.
        ValidationFailed: an enabled superadmin exists, or a bad login/password/OS login.
    """
    if not may_recover_superadmin():
        raise PermissionDenied(_("only root or the owner of the database file may name a "
                                 "superadmin this way") if db.is_sqlite() else
                               _("only root may name a superadmin this way on PostgreSQL"))
    label = f"{kind_name('user')} {login!r}"
    login = login.strip()
    if not login or len(login) > 60 or any(ch.isspace() for ch in login):
        raise ValidationFailed.one(label, "login", login, _("must be one word of 1 to 60 characters"))
    if password is not None:
        check_new_password(label, password)
    if link_os_login:
        try:
            pwd.getpwnam(link_os_login)
        except KeyError:
            raise ValidationFailed.one(label, "os_login", link_os_login,
                                       _("no such OS account on this host")) from None
    wanted = link_os_login or os_login()
    notes: list[str] = []
    with db.write_transaction():
        if enabled_superadmins():
            raise ValidationFailed.one(label, "superadmin", "true",
                                       _("an enabled superadmin exists: ask them to do it"))
        user = User.get_or_none(User.login == login)
        if user is None:
            user = User.create(login=login, real_name=login, superadmin=True, enabled=True)
            notes.append(_("created superadmin {login!r}").format(login=login))
        else:
            user.superadmin, user.enabled = True, True
            user.save()
            notes.append(_("{login!r} is an enabled superadmin now").format(login=login))
        holder = User.get_or_none(User.os_login == wanted)
        if holder is not None and holder.id != user.id:
            if link_os_login:
                raise ValidationFailed.one(label, "os_login", wanted,
                                           _("already linked to user {login!r}").format(login=holder.login))
            notes.append(_("OS login {os_login!r} stays linked to {holder!r}; {login!r} is not "
                           "linked to it").format(os_login=wanted, holder=holder.login, login=login))
        elif user.os_login and user.os_login != wanted and not link_os_login:
            notes.append(_("{login!r} stays linked to OS login {os_login!r}").format(
                login=login, os_login=user.os_login))
        elif user.os_login != wanted:
            user.os_login = wanted
            user.save(only=[User.os_login])
            notes.append(_("linked to OS login {os_login!r}").format(os_login=wanted))
        if password is not None:
            user.password_hash = hash_password(password)
            user.save(only=[User.password_hash])
            notes.append("password set")
    return user, notes


@register
class ProfileKind(Kind):
    """Profiles: named sets of permission bits."""

    name = "profile"
    model = Profile
    fields = (Field("name", required=True, max_length=100), Field("bits"))

    def check_write_any(self, session):
        if not acl.can_manage_users(session.user):
            raise PermissionDenied(_("{login} may not change profiles").format(login=session.login))

    def validate(self, session, obj, parsed, problems):
        if "bits" in parsed:
            bits = V.parse_list(parsed["bits"])
            bad = [b for b in bits if b.upper() not in ALL_BITS]
            if bad:
                problems.append(Problem(self.label(obj), "bits", parsed["bits"],
                                        _("unknown bit {bits}; use {known}").format(
                                            bits=", ".join(bad), known=" ".join(ALL_BITS))))
            obj.bits = ",".join(sorted({b.upper() for b in bits}, key=ALL_BITS.index)
                                ) if not bad else obj.bits

    def before_delete(self, session, obj):
        UserProfile.delete().where(UserProfile.profile == obj.id).execute()


@register
class UserKind(Kind):
    """Users who log in."""

    name = "user"
    model = User
    title_attr = "login"
    order_attr = "login"
    fields = (
        Field("login", required=True, max_length=60),
        Field("real_name"),
        Field("email", "email"),
        Field("phone", max_length=60),
        Field("employee_number", max_length=60),
        Field("language", max_length=10),
        Field("company", "ref", ref="company"),
        Field("profiles", "refs", ref="profile"),
        Field("superadmin", "bool"),
        Field("os_login", max_length=60),
        Field("enabled", "bool"),
        Field("password", "password"),
    )

    def check_view(self, session, obj):
        if obj.id != session.user.id:
            super().check_view(session, obj)

    def check_write_any(self, session):
        if not acl.can_manage_users(session.user):
            raise PermissionDenied(_("{login} may not change users").format(login=session.login))

    def resolve(self, session, text):
        user = User.get_or_none(User.login == text)
        if user is None and str(text).isdigit():
            user = User.get_or_none(User.id == int(text))
        if user is None:
            raise V.BadValue(_("no such user"))
        return user

    def validate(self, session, obj, parsed, problems):
        if obj.os_login == "":
            obj.os_login = None
        if obj.login and not obj.login.strip():
            problems.append(Problem(self.label(obj), "login", obj.login, _("required")))
        if parsed.get("password") and len(parsed["password"]) < MIN_PASSWORD_LENGTH:
            problems.append(Problem(self.label(obj), "password", "(hidden)",
                                    _("must have at least {length} characters").format(length=MIN_PASSWORD_LENGTH)))
        if obj.id is not None and not (obj.superadmin and obj.enabled):
            self._keep_a_superadmin(obj, problems)

    def _keep_a_superadmin(self, obj, problems):
        """Refuse to demote or disable the last enabled superadmin."""
        before = User.get_or_none(User.id == obj.id)
        if before is None or not (before.superadmin and before.enabled):
            return
        if enabled_superadmins(excluding=obj.id) == 0:
            field, value = ("superadmin", "false") if not obj.superadmin else ("enabled",
                                                                                  "false")
            problems.append(Problem(self.label(obj), field, value,
                                    _("is the last enabled superadmin: make another one first")))

    def after_save(self, session, obj, parsed, created):
        if "company" in parsed and not created:
            _membership_changed(obj)
        if "password" in parsed:
            obj.password_hash = hash_password(parsed["password"]) if parsed["password"] else ""
            obj.save(only=[User.password_hash])
        if "profiles" in parsed:
            UserProfile.delete().where(UserProfile.user == obj.id).execute()
            for profile in parsed["profiles"]:
                UserProfile.create(user=obj.id, profile=profile.id)
            acl.forget_bits(obj)
            if obj.id == session.user.id:
                acl.forget_bits(session.user)

    def before_delete(self, session, obj):
        if obj.superadmin and obj.enabled and enabled_superadmins(excluding=obj.id) == 0:
            raise ValidationFailed.one(self.label(obj), "login", obj.login,
                                       _("is the last enabled superadmin: make another one "
                                         "first"))
        if obj.id == session.user.id:
            raise ValidationFailed.one(self.label(obj), "login", obj.login,
                                       _("you cannot delete yourself"))
        if Company.select().where(Company.manager == obj.id).exists():
            raise ValidationFailed.one(self.label(obj), "login", obj.login,
                                       _("still manages companies: give them another manager"))

    def decorate(self, session, rows):
        ids = [r["id"] for r in rows]
        links: dict[int, list[str]] = {}
        query = (
            UserProfile.select(UserProfile.user, Profile.name)
            .join(Profile)
            .where(UserProfile.user.in_(ids))
            .order_by(Profile.name)
            .tuples()
        )
        for user_id, name in query:
            links.setdefault(user_id, []).append(name)
        for row in rows:
            row["profiles"] = links.get(row["id"], [])


def _membership_changed(user: User) -> None:
    """The companies a user manages keep his company for the access rule (crm_tui.acl)."""
    from crm_tui.services.companies import membership_changed

    membership_changed(user.id, user.company_id)
