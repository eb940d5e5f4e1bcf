import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests.accounts.factories import ResidentFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config):
    # SQLite tests on a file (in memory-backed /dev/shm where there is one), not on SQLite's
    # shared-cache memory database: the browser tests' server threads and the test thread then wait
    # for each other's locks (busy_timeout, WAL) where shared cache fails at once with "database
    # table is locked", which it never retries.
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3") and not db.get("TEST", {}).get("NAME"):
        shm = Path("/dev/shm")
        folder = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
        db.setdefault("TEST", {})["NAME"] = str(folder / f"jiefang-test-{os.getpid()}.sqlite3")
    # Tests never run collectstatic; serve assets from the finders with plain storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests run with DEBUG off, as production does: with the per-process fragment cache it keeps.
    settings.CACHES = {
        **settings.CACHES,
        "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
    }
    # Tasks run in-process in tests on both stacks; the tests that need a real worker and broker
    # start one themselves and switch this off for their duration.
    from neighborhood.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    _redis_of_own(os.environ.get("PYTEST_XDIST_WORKER"), celery_app)


def _redis_of_own(worker: str | None, celery_app) -> None:
    """Under pytest-xdist each worker process takes a Redis database of its own (gw0 the configured
    one, gw1 the next, ...): the tests empty the cache between them (FLUSHDB), and the channel layer's
    groups and the broker's queues must not reach another worker's tests. PostgreSQL databases get
    pytest-django's per-worker suffix already."""
    if not worker or not settings.REDIS_URL:
        return
    parts = urlsplit(settings.REDIS_URL)
    db = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    if db > 15:
        raise pytest.UsageError(f"xdist worker {worker} would need Redis database {db}: use fewer workers")
    url = urlunsplit(parts._replace(path=f"/{db}"))
    settings.REDIS_URL = url
    settings.CACHES["default"]["LOCATION"] = url
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [url]
    settings.CELERY_BROKER_URL = url
    celery_app.conf.broker_url = url
    os.environ["REDIS_URL"] = url  # for the server and worker processes the fault tests start


def pytest_collection_modifyitems(config, items):
    """Tests marked `services` need PostgreSQL and Redis. Without them configured they are skipped
    on a developer's machine; in CI they run in the second pass, and there a missing service fails."""
    if settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    reason = (
        "needs DATABASE_URL (PostgreSQL) and REDIS_URL; runs in the second CI pass"
        if IN_CI
        else "needs DATABASE_URL (PostgreSQL) and REDIS_URL"
    )
    for item in items:
        if "services" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english_by_default():
    """Each test starts in English, whatever language an earlier test's request activated."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty caches (shared feed pages, rate-limit counters, fragments)."""
    from django.core.cache import caches

    for alias in caches:
        caches[alias].clear()
    yield


@pytest.fixture(autouse=True)
def _email_outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def resident(db):
    return ResidentFactory()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def resident_client(api_client, resident):
    api_client.force_authenticate(resident)
    api_client.resident = resident
    return api_client


@pytest.fixture
def rate_limit(settings):
    """`rate_limit("stall_publish", user=(2, 3600))`: sets one action's limits for this test."""

    def set_limit(action: str, **scopes):
        settings.JIEFANG_RATE_LIMITS = {
            **settings.JIEFANG_RATE_LIMITS,
            action: {**settings.JIEFANG_RATE_LIMITS.get(action, {}), **scopes},
        }

    return set_limit
