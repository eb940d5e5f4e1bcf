import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings

from tests.security.world import World, build


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world of tests/security/world.py, built once per module; each test's requests run in
    savepoints inside this transaction, and everything is rolled back at the end of the module."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    with django_db_blocker.unblock(), media, transaction.atomic():
        built = build()
        built.sessions = {role: _session_of(user) for role, user in built.roles.items() if user is not None}
        yield built
        transaction.set_rollback(True)


@pytest.fixture
def no_flood_limits(settings):
    """For the matrix: eight roles from one address in a row are about who, not how often (the
    limits have their own tests, and the location attack in this package needs them on)."""
    settings.JIEFANG_RATE_LIMIT_SCALE = 1000


def _session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def client_as(world: World, role: str) -> Client:
    """A client signed in as the role (signed in once per module: a request that logs out runs in a
    savepoint that is rolled back)."""
    client = Client()
    if role in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client
