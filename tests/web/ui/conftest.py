"""Fixtures of the web UI tests: the company of :mod:`tests.web.ui_world` and a logged-in
client per role.

The company is built once per test module and committed (two evaluation runs and Argon2
password hashes take seconds); each test then runs in a transaction that is rolled back, so
whatever a test changes is gone for the next one. When the module ends the database is emptied
again, so tests elsewhere start from an empty database as they expect. A test that empties the
database itself (``transactional_db``) makes the following tests build the company again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from ..ui_world import World, build_world, load_world


@pytest.fixture(scope="module")
def _committed_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        if load_world() is None:
            build_world()
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def world(_committed_world: None, db: None) -> World:
    loaded = load_world()
    if loaded is None:  # a transactional test emptied the database: build it (rolled back)
        return build_world()
    return loaded


@pytest.fixture
def client_as(world: World) -> Callable[[str], Client]:
    """``client_as("rep_a")``: a test client logged in as that user."""

    def make(login: str) -> Client:
        client = Client()
        client.force_login(world.users[login])
        return client

    return make
