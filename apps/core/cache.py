"""The Redis cache, degrading instead of failing: while Redis cannot be reached, the cache behaves
like an empty one that keeps nothing, and pages are served without it.

Everything the site keeps in the cache can be lost without breaking a rule: shared feed pages
(rebuilt), rate-limit counters (limits are a guard: with the cache gone, writes go through),
chat presence (a resident then gets a notification they might not have needed). So a cache error
is logged and answered as a miss, as django-redis does with IGNORE_EXCEPTIONS; Django's built-in
RedisCache would raise it into the page (a 500).

- get/get_many/has_key: a miss. add/set/touch/delete: nothing kept (False). incr/decr: ValueError,
  Django's answer for a missing key, which callers already handle by setting the key afresh.
- Each socket operation is bounded (`OPTIONS`: socket_connect_timeout, socket_timeout), so a Redis
  that hangs rather than refuses costs at most that. After a failure the process leaves Redis alone
  for `retry_after` seconds (OPTIONS "retry_after", default 2): a frozen Redis then costs one timeout
  per process every few seconds instead of one per cache call, and one warning is logged, not
  hundreds.
- One connection pool and one client per Redis location for the whole process. Django keeps a cache
  backend per thread and, under ASGI, per request (its handler runs each request in a context of
  its own), and its Redis backend opens a fresh pool, so a fresh TCP connection, for each, and builds
  a redis-py client (with its table of 170 reply callbacks) for every call. Both are thread-safe and
  meant to be shared; sharing them takes about a millisecond of CPU off every ASGI page.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import RedisError

log = logging.getLogger(__name__)

# Per Redis location, shared by the backend instances of every thread of the process.
_down_until: dict[str, float] = {}
# Per Redis location and pool options: the process's client, over its connection pool.
_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


class CacheUnavailable(Exception):
    pass


class DegradingRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, *, retry_after: float = 2.0, **options):
        super().__init__(servers, **options)
        self._where = ",".join(servers)
        self._retry_after = retry_after

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        shared = (self._servers[index], repr(sorted(self._pool_options.items())))
        client = _clients.get(shared)
        if client is None:
            with _clients_lock:
                client = _clients.get(shared)
                if client is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    client = self._client(connection_pool=pool)
                    _clients[shared] = client
        return client

    def _call(self, operation, *args):
        if _down_until.get(self._where, 0.0) > time.monotonic():
            raise CacheUnavailable
        try:
            return operation(*args)
        except (RedisError, OSError) as exc:
            _down_until[self._where] = time.monotonic() + self._retry_after
            log.warning("cache unreachable (%s); served without it for %.0f s", exc, self._retry_after)
            raise CacheUnavailable from exc

    def _or(self, fallback, operation, *args):
        try:
            return self._call(operation, *args)
        except CacheUnavailable:
            return fallback

    def add(self, key, value, timeout):
        return self._or(False, super().add, key, value, timeout)

    def get(self, key, default):
        return self._or(default, super().get, key, default)

    def set(self, key, value, timeout):
        return self._or(None, super().set, key, value, timeout)

    def touch(self, key, timeout):
        return self._or(False, super().touch, key, timeout)

    def delete(self, key):
        return self._or(False, super().delete, key)

    def get_many(self, keys):
        return self._or({}, super().get_many, keys)

    def has_key(self, key):
        return self._or(False, super().has_key, key)

    def incr(self, key, delta):
        try:
            return self._call(super().incr, key, delta)
        except CacheUnavailable:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable).") from None

    def set_many(self, data, timeout):
        return self._or(None, super().set_many, data, timeout)

    def delete_many(self, keys):
        return self._or(None, super().delete_many, keys)

    def clear(self):
        return self._or(False, super().clear)


class DegradingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = DegradingRedisCacheClient
