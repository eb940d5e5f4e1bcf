"""The cache degrades instead of failing when Redis cannot be reached (apps/core/cache.py). Pointed
at a port where nothing listens: no Redis server is needed, so this runs in both CI passes."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from apps.core import cache as degrading
from apps.core.ratelimit import rate_check
from tests.accounts.factories import ResidentFactory

UNREACHABLE = {
    "default": {
        "BACKEND": "apps.core.cache.DegradingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "retry_after": 2},
    }
}


@pytest.fixture
def unreachable_cache():
    degrading._down_until.clear()
    with override_settings(CACHES={**settings.CACHES, **UNREACHABLE}):
        yield caches["default"]
    degrading._down_until.clear()


def test_an_unreachable_cache_reads_as_an_empty_one_that_keeps_nothing(unreachable_cache):
    cache = unreachable_cache
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.add("k", 1) is False
    cache.set("k", 1)
    assert cache.get("k") is None
    assert cache.get_many(["a", "b"]) == {}
    assert cache.touch("k") is False
    assert cache.delete("k") is False
    assert cache.has_key("k") is False
    with pytest.raises(ValueError):
        cache.incr("k")
    with pytest.raises(ValueError):
        cache.decr("k")
    cache.set_many({"a": 1})
    cache.delete_many(["a"])


def test_after_a_failure_the_process_leaves_redis_alone_for_a_while(unreachable_cache):
    unreachable_cache.get("k")
    assert degrading._down_until["redis://127.0.0.1:1/0"]


@pytest.mark.django_db
def test_pages_and_limited_writes_go_on_without_the_cache(unreachable_cache, client, rate_limit):
    resident = ResidentFactory()
    client.force_login(resident)
    assert client.get("/").status_code == 200
    rate_limit("vouch_give", user=(1, 3600))
    rate_check("vouch_give", user=resident)
    rate_check("vouch_give", user=resident)  # over the limit, but the counter is out of reach


def test_every_backend_instance_of_the_process_shares_one_client_and_pool(unreachable_cache):
    """Django makes a cache backend per thread and, under ASGI, per request: they must not each open
    a connection pool (a TCP connection to Redis per request) nor build a client per call."""
    import threading

    from django.core.cache.backends.redis import RedisCache

    first = RedisCache("redis://127.0.0.1:1/0", UNREACHABLE["default"])
    first._class = type(unreachable_cache._cache)
    clients = [first._cache.get_client(write=True), first._cache.get_client()]

    def another_thread():
        other = type(unreachable_cache)("redis://127.0.0.1:1/0", UNREACHABLE["default"])
        assert other is not first
        clients.append(other._cache.get_client(write=True))

    thread = threading.Thread(target=another_thread)
    thread.start()
    thread.join()
    assert len({id(c) for c in clients}) == 1
    assert len({id(c.connection_pool) for c in clients}) == 1

    elsewhere = type(unreachable_cache)("redis://127.0.0.1:2/0", UNREACHABLE["default"])
    assert elsewhere._cache.get_client() is not clients[0]  # another location, another pool


@pytest.mark.services
def test_requests_in_contexts_of_their_own_reuse_the_connections_to_redis():
    """What ASGI does: each request in a fresh context gets a fresh backend; the connections to Redis
    stay the same few."""
    import contextvars

    from django.core.cache import cache

    backends, pools = [], set()

    def one_request(i):
        cache.set(f"shared-client-{i}", i, 30)
        backends.append(caches["default"])
        pools.add(id(cache._cache.get_client().connection_pool))
        return cache.get(f"shared-client-{i}")

    assert [contextvars.Context().run(one_request, i) for i in range(50)] == list(range(50))
    assert len({id(b) for b in backends}) == 50  # Django's doing: a backend per context
    assert len(pools) == 1
    pool = cache._cache.get_client().connection_pool
    assert len(pool._available_connections) + len(pool._in_use_connections) <= 2
