"""Django's PostgreSQL backend, reading `timestamptz` values with psycopg's C loader.

Django registers a loader of its own for `timestamptz` (to put its connection's time zone on every
value), written in Python on top of psycopg's Python parser: about 4 µs a value, against 0.3 µs for
psycopg's C loader (psycopg-binary), which already answers in the session's time zone. Django sets
the session to UTC when USE_TZ is on, so the C loader gives the same aware UTC datetimes. A page of
50 stalls holds about 150 such values: 0.5 ms of a 3.5 ms nearby query (docs/benchmarks.md). Set as
ENGINE by the settings for every PostgreSQL DATABASE_URL.
"""

import datetime
import functools

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Zulu"})


class _DjangoUtcLoader(BaseTzLoader):
    timezone = datetime.UTC


class UtcTimestamptzLoader(Loader):
    """Aware UTC datetimes: psycopg's fastest loader when the session is on UTC, else Django's way."""

    # what Django's create_cursor compares with the connection's time zone
    timezone = datetime.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        session_zone = self.connection.info.parameter_status("TimeZone") if self.connection else None
        if session_zone in UTC_NAMES:
            # psycopg's own loader for the type (the C one with psycopg-binary), bound as this
            # instance's `load`, so that loading a value runs no Python at all
            self.load = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)(oid, context).load
        else:
            self.load = _DjangoUtcLoader(oid, context).load

    def load(self, data):
        # Shadowed on each instance by the loader chosen in __init__; here for Loader's interface.
        return self.__dict__["load"](data)


@functools.lru_cache
def _with_fast_timestamps(template: AdaptersMap) -> AdaptersMap:
    adapters = AdaptersMap(template)
    adapters.register_loader("timestamptz", UtcTimestamptzLoader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        # Only where Django's loader would put UTC on every value (USE_TZ, no per-database zone).
        if self.timezone is datetime.UTC:
            params["context"] = _with_fast_timestamps(params["context"])
        return params
