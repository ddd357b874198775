"""Users who log in, the profiles that grant them permission bits, and settings."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel


class Profile(BaseModel):
    """A named set of permission bits, stored as a comma-separated list (e.g. "CR,CW")."""

    name = peewee.CharField(max_length=100, unique=True)
    bits = peewee.CharField(max_length=100, default="")

    class Meta:
        table_name = "profile"

    @property
    def bit_set(self) -> frozenset[str]:
        """The bits as a set."""
        return frozenset(b for b in self.bits.split(",") if b)


class User(BaseModel):
    """A person who logs in to the CRM (contacts are not users)."""

    login = peewee.CharField(max_length=60, unique=True)
    real_name = peewee.CharField(max_length=200, default="")
    email = peewee.CharField(max_length=200, default="")
    phone = peewee.CharField(max_length=60, default="")
    employee_number = peewee.CharField(max_length=60, default="")
    # Empty: the language of the OS locale (SPEC 11), until the user chooses one.
    language = peewee.CharField(max_length=10, default="")
    # The company the user belongs to; deferred because companies point back at users.
    company = peewee.DeferredForeignKey(
        "Company", null=True, on_delete="SET NULL", deferrable=None, backref="members"
    )
    os_login = peewee.CharField(max_length=60, null=True, unique=True)
    password_hash = peewee.CharField(max_length=200, default="")
    enabled = peewee.BooleanField(default=True)
    superadmin = peewee.BooleanField(default=False)
    #: The PostgreSQL role this user connects as (`crm db grant`); the session's role
    #: names the acting user.
    db_role = peewee.CharField(max_length=63, null=True, unique=True)

    class Meta:
        table_name = "user"

    @classmethod
    def select(cls, *fields):
        """Rows without the password hash unless it is asked for by name: operator roles
        on PostgreSQL may not read that column (see crm_tui.rls), and only the password
        checks need it (`services.users.stored_hash`)."""
        if not fields:
            fields = [f for f in cls._meta.sorted_fields if f is not cls.password_hash]
        return super().select(*fields)


class UserProfile(BaseModel):
    """Which profiles a user has."""

    user = peewee.ForeignKeyField(User, on_delete="CASCADE", backref="profile_links")
    profile = peewee.ForeignKeyField(Profile, on_delete="CASCADE", backref="user_links")

    class Meta:
        table_name = "user_profile"
        indexes = ((("user", "profile"), True),)


class Setting(BaseModel):
    """One business setting under a stable dotted key (e.g. invoice.id_pattern)."""

    key = peewee.CharField(max_length=100, primary_key=True)
    value = peewee.TextField(default="")

    class Meta:
        table_name = "setting"
