"""Residents' sessions: read from the cache, written through to the database (Django's cached_db),
with the cached copy kept a few minutes at most.

Every page reads the session; from Redis that costs about a millisecond of CPU less per page than a
query (measured on the feed page, docs/benchmarks.md). The database stays the record, so a cache
that is lost or unreachable costs a query, never a session (the cache degrades to a miss:
apps/core/cache.py). The cap is for the one case a cache cannot answer: a log-out while Redis is
unreachable deletes the session from the database but cannot delete the cached copy, which would
otherwise let that session key in again, once Redis is back, until the session's own expiry.
Capped, it is gone within SESSION_CACHE_SECONDS.

Used when REDIS_URL is set (a cache shared by every process); the embedded default keeps sessions
in the database, since a per-process memory cache would not see another process's log-out.
"""

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBSessionStore


class _CappedCache:
    """The session cache, with every timeout cut to the cap."""

    def __init__(self, cache, cap: int):
        self._cache, self._cap = cache, cap

    def _timeout(self, timeout):
        return self._cap if timeout is None else min(timeout, self._cap)

    def set(self, key, value, timeout=None, version=None):
        return self._cache.set(key, value, self._timeout(timeout), version=version)

    async def aset(self, key, value, timeout=None, version=None):
        return await self._cache.aset(key, value, self._timeout(timeout), version=version)

    def __getattr__(self, name):
        return getattr(self._cache, name)

    def __contains__(self, key):
        return key in self._cache


class SessionStore(CachedDBSessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _CappedCache(self._cache, settings.SESSION_CACHE_SECONDS)
