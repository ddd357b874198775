"""Password hashes (scrypt with a per-user salt, old PBKDF2 ones upgraded), checks, changing
one's own password, and the OS login taken from the uid."""

from __future__ import annotations

import hashlib
import os
import pwd

import pytest

from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.services import users


def _stored(login: str) -> str:
    from crm_tui.models import User

    return User.select(User.password_hash).where(User.login == login).scalar()


def test_scrypt_hash_with_its_cost_and_a_fresh_salt():
    first, second = users.hash_password("correct horse"), users.hash_password("correct horse")
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", users._SCRYPT_N, users._SCRYPT_R,
                                                 users._SCRYPT_P)
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
    # The digest is scrypt's over the salt, not anything home-made.
    assert bytes.fromhex(digest) == hashlib.scrypt(b"correct horse", salt=bytes.fromhex(salt),
                                                   n=int(n), r=int(r), p=int(p), dklen=32)
    assert first != second and first.split("$")[4] != second.split("$")[4]
    assert users.check_password(first, "correct horse")
    assert users.check_password(second, "correct horse")
    assert not users.check_password(first, "correct horsE")
    assert not users.check_password(first, "")


def test_the_cost_travels_with_the_hash(monkeypatch):
    cheap = users.hash_password("pässwörd-ü")
    monkeypatch.setattr(users, "_SCRYPT_N", 2**6)
    assert users.check_password(cheap, "pässwörd-ü")
    assert users.needs_rehash(cheap)
    assert not users.needs_rehash(users.hash_password("pässwörd-ü"))


@pytest.mark.parametrize("stored", ["", "garbage", "scrypt$x$8$1$00$00", "scrypt$16$8$1$zz$00",
                                    "pbkdf2_sha256$1000$nothex$00", "md5$abc",
                                    "scrypt$16$8$1$" + "00" * 16 + "$" + "00" * 32])
def test_a_malformed_or_foreign_hash_matches_nothing(stored):
    assert not users.check_password(stored, "anything")
    assert users.needs_rehash(stored) or stored.startswith("scrypt$16$")


def test_an_old_pbkdf2_hash_verifies_and_becomes_scrypt(world):
    from crm_tui.models import User

    old = users.pbkdf2_hash("legacy-secret", rounds=1000)
    User.update(password_hash=old).where(User.login == "user1").execute()
    user = User.get(User.login == "user1")
    assert users.check_password(old, "legacy-secret")
    # A wrong password leaves the old hash alone.
    assert not users.verify_password(user, "legacy-secreT")
    assert _stored("user1") == old
    assert users.verify_password(user, "legacy-secret")
    upgraded = _stored("user1")
    assert upgraded.startswith("scrypt$") and not users.needs_rehash(upgraded)
    assert users.check_password(upgraded, "legacy-secret")
    # The upgraded hash opens a session like before.
    me = User.get(User.login == "admin")
    User.update(os_login="someone-else").where(User.id == me.id).execute()
    assert users.session_for("user1", "legacy-secret").login == "user1"


def test_refusals_say_the_same_for_unknown_disabled_and_wrong(world):
    from crm_tui.models import User
    from crm_tui.services.records import get_kind

    User.update(os_login="someone-else").where(User.login == "admin").execute()
    messages = {}
    for login, password in (("user1", "wrong-one"), ("user1", None), ("ghost", "user1-pw")):
        with pytest.raises(PermissionDenied) as refused:
            users.session_for(login, password)
        messages[(login, password)] = str(refused.value).replace(login, "LOGIN")
    get_kind("user").update(world.session("admin"), "user1", {"enabled": "false"})
    with pytest.raises(PermissionDenied) as disabled:
        users.session_for("user1", "user1-pw")
    messages["disabled"] = str(disabled.value).replace("user1", "LOGIN")
    assert set(messages.values()) == {"unknown user or wrong password for 'LOGIN'"}


def test_change_own_password(world):
    session = world.session("user2")
    with pytest.raises(PermissionDenied, match="wrong current password"):
        users.change_own_password(session, "not-it", "brand-new-pass")
    with pytest.raises(PermissionDenied):
        users.change_own_password(session, None, "brand-new-pass")
    with pytest.raises(ValidationFailed, match="at least 8 characters") as short:
        users.change_own_password(session, "user2-pw", "short")
    assert "short" not in str(short.value).replace("at least", "")
    assert users.check_password(_stored("user2"), "user2-pw")
    users.change_own_password(session, "user2-pw", "brand-new-pass")
    assert users.check_password(_stored("user2"), "brand-new-pass")
    assert not users.check_password(_stored("user2"), "user2-pw")


def test_a_user_without_a_password_sets_one_without_the_current(world):
    admin = world.session("admin")
    assert not users.has_password(admin)
    users.change_own_password(admin, None, "admin-pass-1")
    assert users.has_password(admin)
    assert users.check_password(_stored("admin"), "admin-pass-1")


def test_setting_a_short_password_on_a_user_is_refused(world):
    from crm_tui.services.records import get_kind

    with pytest.raises(ValidationFailed, match="at least 8 characters") as refused:
        get_kind("user").update(world.session("admin"), "user1", {"password": "1234"})
    assert "'(hidden)'" in str(refused.value) and "1234" not in str(refused.value)
    assert users.check_password(_stored("user1"), "user1-pw")


def test_the_os_login_comes_from_the_uid_not_the_environment(monkeypatch):
    real = pwd.getpwuid(os.getuid()).pw_name
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "admin" if real != "admin" else "someone")
    assert users.os_login() == real


def test_a_new_database_links_its_admin_to_the_os_login(crm_db):
    from crm_tui.models import User

    admin = User.get(User.login == "admin")
    assert admin.superadmin and admin.os_login == pwd.getpwuid(os.getuid()).pw_name


def test_no_new_admin_once_the_database_has_users(crm_db, admin):
    """Renaming admin must not let the next process create a fresh superadmin `admin`."""
    from crm_tui.models import User
    from crm_tui.services.records import get_kind

    get_kind("user").update(admin, "admin", {"login": "boss", "os_login": ""})
    assert users.ensure_admin() is None
    assert User.get_or_none(User.login == "admin") is None
    assert [u.login for u in User.select()] == ["boss"]
