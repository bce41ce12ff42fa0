"""Fixtures of the web UI tests: the company of :mod:`tests.web.ui_world` and a logged-in
client per role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ..ui_world import World, build_world


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def client_as(world: World) -> Callable[[str], Client]:
    """``client_as("rep_a")``: a test client logged in as that user."""

    def make(login: str) -> Client:
        client = Client()
        client.force_login(world.users[login])
        return client

    return make
