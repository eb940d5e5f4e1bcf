"""Sessions read from the cache and written through to the database (apps/accounts/sessions.py)."""

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.sessions import SessionStore
from apps.core import cache as degrading
from tests.accounts.factories import JINGAN, ResidentFactory

pytestmark = pytest.mark.django_db

LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sessions"}}


@pytest.fixture
def cached_sessions(settings):
    settings.CACHES = {**settings.CACHES, **LOCAL}
    settings.SESSION_ENGINE = "apps.accounts.sessions"
    settings.SESSION_CACHE_SECONDS = 300
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


def session_queries(queries):
    return [q["sql"] for q in queries if "django_session" in q["sql"]]


def cached_expiries(cache):
    return [when for key, when in cache._expire_info.items() if "sessions.cached_db" in key]


def test_a_logged_in_page_reads_its_session_from_the_cache_not_the_database(cached_sessions, client):
    client.force_login(ResidentFactory(home=JINGAN))
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    assert session_queries(queries.captured_queries) == []
    # and the database keeps the record
    assert Session.objects.filter(session_key=client.session.session_key).exists()


def test_the_cached_copy_lives_at_most_the_cap_while_the_session_lasts_weeks(cached_sessions, client):
    import time

    client.force_login(ResidentFactory(home=JINGAN))
    client.get(reverse("home"))
    expiries = cached_expiries(cached_sessions)
    assert expiries and all(when <= time.time() + 300 + 1 for when in expiries)
    assert client.session.get_expiry_age() == django_settings.SESSION_COOKIE_AGE  # the cookie's age is untouched


def test_log_out_removes_the_session_from_the_cache_and_the_database(cached_sessions, client):
    client.force_login(ResidentFactory(home=JINGAN))
    key = client.session.session_key
    client.get(reverse("home"))
    assert cached_expiries(cached_sessions)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert not SessionStore().exists(key)
    # the old key no longer opens a logged-in page
    client.cookies[django_settings.SESSION_COOKIE_NAME] = key
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_a_session_missing_from_the_cache_comes_from_the_database(cached_sessions, client):
    resident = ResidentFactory(home=JINGAN)
    client.force_login(resident)
    cached_sessions.clear()
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("accounts:profile")).content.decode()
    assert resident.display_name in html
    assert len(session_queries(queries.captured_queries)) == 1
    assert cached_expiries(cached_sessions)  # and it is cached again


def test_sessions_work_on_while_the_cache_is_unreachable(settings, client):
    degrading._down_until.clear()
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "apps.core.cache.DegradingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "retry_after": 2},
        },
    }
    settings.SESSION_ENGINE = "apps.accounts.sessions"
    resident = ResidentFactory(home=JINGAN, password="a long pass phrase 9")
    try:
        assert client.post(
            reverse("accounts:login"), {"username": resident.username, "password": "a long pass phrase 9"}
        ).status_code in (302, 303)
        assert resident.display_name in client.get(reverse("accounts:profile")).content.decode()
        assert client.post(reverse("accounts:logout")).status_code == 302
        assert not Session.objects.exists()
    finally:
        degrading._down_until.clear()


@pytest.mark.services
def test_with_redis_the_site_keeps_sessions_this_way():
    assert django_settings.SESSION_ENGINE == "apps.accounts.sessions"
