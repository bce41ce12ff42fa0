"""The demo company's users: one per role, so that every view of the web UI can be tried.

An administrator ``admin`` sees everything; each sales region (大区) has a manager
(``manager_east`` …) who sees the customers of the region's reps; each rep — the logins the
generated customers name as their owner — sees only their own customers. Every password is the
login followed by ``-demo``, hashed with Argon2 while the demo works (:class:`Passwords`).
Users are created once: running the demo again neither duplicates them nor resets a password
someone changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc

from fenji.demo import vocabulary as vocab

PASSWORD_SUFFIX = "-demo"
ADMIN = "admin"


@dataclass(frozen=True)
class DemoUser:
    """A login, its role (``admin``, ``manager`` or ``rep``), team and display name."""

    login: str
    role: str
    team: str | None
    name: str

    @property
    def password(self) -> str:
        return self.login + PASSWORD_SUFFIX


def demo_users(owners: Iterable[str]) -> list[DemoUser]:
    """The administrator, every region's manager, and the reps among ``owners`` (the
    customers' owners), in that order; reps by region, as the vocabulary lists them."""
    present = set(owners)
    users = [DemoUser(ADMIN, "admin", None, "系统管理员")]
    province_rep = {
        region: (login, name)
        for (region, _, _), login, name in zip(
            vocab.REGIONS, vocab.OWNERS, vocab.OWNER_NAMES, strict=True
        )
    }
    for team, manager, _ in vocab.TEAMS:
        users.append(DemoUser(manager, "manager", team, f"{team}经理"))
    for team, _, provinces in vocab.TEAMS:
        for province in provinces:
            login, name = province_rep[province]
            if login in present:
                users.append(DemoUser(login, "rep", team, name))
    return users


def owners_in(data: Path) -> list[str]:
    """The distinct owners of the customers file in the demo's data folder."""
    from fenji.io.readers import read_dataset

    customers = read_dataset(data, ["customers"])["customers"]
    return sorted(pc.unique(customers["owner"].drop_null()).to_pylist())


def ensure_demo_users(users: Iterable[DemoUser]) -> int:
    """Create the users, teams and memberships that do not exist yet; returns how many users
    were created. New users get their password from :class:`Passwords` (until then they
    cannot log in); existing users keep theirs, and their role and team are set again, so that
    the demo's company stays the one described."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from fenji.web.accounts.models import Membership, Team

    wanted = list(users)
    model = get_user_model()
    with transaction.atomic():
        teams = {u.team for u in wanted if u.team}
        for name in sorted(teams - set(Team.objects.values_list("name", flat=True))):
            Team.objects.create(name=name)
        team_ids = dict(Team.objects.filter(name__in=teams).values_list("name", "id"))
        logins = [u.login for u in wanted]
        existing = set(model.objects.filter(username__in=logins).values_list("username", flat=True))
        new = [u for u in wanted if u.login not in existing]
        model.objects.bulk_create(
            [model(username=u.login, first_name=u.name, password=make_password(None)) for u in new]
        )
        ids = dict(model.objects.filter(username__in=logins).values_list("username", "id"))
        memberships = {m.user_id: m for m in Membership.objects.filter(user_id__in=ids.values())}
        for u in wanted:
            team = team_ids.get(u.team) if u.team else None
            membership = memberships.get(ids[u.login])
            if membership is None:
                Membership.objects.create(user_id=ids[u.login], role=u.role, team_id=team)
            elif (membership.role, membership.team_id) != (u.role, team):
                membership.role, membership.team_id = u.role, team
                membership.save(update_fields=["role", "team"])
    return len(new)


class Passwords:
    """The Argon2 hashes of the demo users that have no usable password yet, computed in the
    background while the demo imports and evaluates.

    Argon2 is slow on purpose (a quarter of a second of processor time a hash, on several
    cores): two dozen users would add about ten seconds to the demo's first run if hashed one
    after the other before the work that needs no password. :meth:`save` waits for the hashes
    and stores them. A demo interrupted before that leaves users without a usable password,
    and the next run hashes theirs; a password someone set is never replaced.
    """

    def __init__(self, users: Iterable[DemoUser]) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import is_password_usable, make_password

        by_login = {u.login: u for u in users}
        stored = get_user_model().objects.filter(username__in=list(by_login))
        missing = [
            login
            for login, password in stored.values_list("username", "password")
            if not is_password_usable(password)
        ]
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._hashes: dict[str, Future[str]] = {
            login: self._pool.submit(make_password, by_login[login].password)
            for login in sorted(missing)
        }

    def cancel(self) -> None:
        """Drop the hashes not computed yet (after a failure: nothing will store them)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def save(self) -> int:
        """Store the hashes (waiting for them); returns how many passwords were set."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import is_password_usable

        hashes = {login: future.result() for login, future in self._hashes.items()}
        self._pool.shutdown()
        if not hashes:
            return 0
        model = get_user_model()
        waiting = [
            user
            for user in model.objects.filter(username__in=list(hashes))
            if not is_password_usable(user.password)
        ]
        for user in waiting:
            user.password = hashes[user.username]
        model.objects.bulk_update(waiting, ["password"])
        return len(waiting)
