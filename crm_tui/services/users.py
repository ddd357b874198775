"""Users, profiles, logging in, and the admin that a new database gets."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from crm_tui import acl
from crm_tui.acl import ALL_BITS
from crm_tui.db import write_transaction
from crm_tui.errors import PermissionDenied, Problem, ValidationFailed
from crm_tui.models import Company, Profile, User, UserProfile
from crm_tui.services import values as V
from crm_tui.services.context import Clock, Session
from crm_tui.services.records import Field, Kind, register

_HASH_ROUNDS = 200_000


def hash_password(password: str) -> str:
    """A salted PBKDF2 hash of a password, as stored."""
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), _HASH_ROUNDS)
    return f"pbkdf2_sha256${_HASH_ROUNDS}${salt}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        _scheme, rounds, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    return hmac.compare_digest(candidate.hex(), digest)


def os_login() -> str:
    """The operating-system login of this process."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "admin")


def session_for(
    login: str | None, password: str | None = None, *, clock: Clock | None = None
) -> Session:
    """Open a session as `login` (default: the user linked to the OS login).

    A password is needed for another user unless the OS login is linked to a superadmin
    (who may act as anyone, to see what they see).

    Raises:
        PermissionDenied: unknown or disabled user, or a wrong password.
    """
    clock = clock or Clock()
    me = User.get_or_none(User.os_login == os_login())
    if login is None:
        if me is None or not me.enabled:
            raise PermissionDenied(
                f"no CRM user is linked to the OS login {os_login()!r}: use --user LOGIN"
            )
        return Session(me, clock)
    user = User.get_or_none(User.login == login)
    if user is None or not user.enabled:
        raise PermissionDenied(f"unknown or disabled user {login!r}")
    if me is not None and me.id == user.id:
        return Session(user, clock)
    if me is not None and me.superadmin and me.enabled:
        return Session(user, clock)
    if password is None or not user.password_hash or not check_password(
        user.password_hash, password
    ):
        raise PermissionDenied(f"wrong password for user {login!r}")
    return Session(user, clock)


def ensure_admin(clock: Clock | None = None) -> User:
    """The superadmin `admin`, created and linked to the OS login on first run."""
    admin = User.get_or_none(User.login == "admin")
    if admin is not None:
        return admin
    with write_transaction():
        linked = User.get_or_none(User.os_login == os_login())
        return User.create(
            login="admin",
            real_name="Administrator",
            superadmin=True,
            os_login=None if linked else os_login(),
        )


@register
class ProfileKind(Kind):
    """Profiles: named sets of permission bits."""

    name = "profile"
    model = Profile
    fields = (Field("name", required=True, max_length=100), Field("bits"))

    def check_write_any(self, session):
        if not acl.can_manage_users(session.user):
            raise PermissionDenied(f"{session.login} may not change profiles")

    def validate(self, session, obj, parsed, problems):
        if "bits" in parsed:
            bits = V.parse_list(parsed["bits"])
            bad = [b for b in bits if b.upper() not in ALL_BITS]
            if bad:
                problems.append(Problem(self.label(obj), "bits", parsed["bits"],
                                        "unknown bit " + ", ".join(bad) + "; use "
                                        + " ".join(ALL_BITS)))
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
            raise PermissionDenied(f"{session.login} may not change users")

    def resolve(self, session, text):
        user = User.get_or_none(User.login == text)
        if user is None and str(text).isdigit():
            user = User.get_or_none(User.id == int(text))
        if user is None:
            raise V.BadValue("no such user")
        return user

    def validate(self, session, obj, parsed, problems):
        if obj.os_login == "":
            obj.os_login = None
        if obj.login and not obj.login.strip():
            problems.append(Problem(self.label(obj), "login", obj.login, "required"))

    def after_save(self, session, obj, parsed, created):
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
        if obj.id == session.user.id:
            raise ValidationFailed.one(self.label(obj), "login", obj.login,
                                       "you cannot delete yourself")
        if Company.select().where(Company.manager == obj.id).exists():
            raise ValidationFailed.one(self.label(obj), "login", obj.login,
                                       "still manages companies: give them another manager")

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
