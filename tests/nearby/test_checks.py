import sqlite3

import pytest

from apps.nearby.checks import SQLiteWithoutMath, sqlite_math_functions_present


class _Conn:
    """Stands in for Django's connection wrapper around a real sqlite3 connection."""

    vendor = "sqlite"

    def __init__(self, raw):
        self.connection = raw


def test_sqlite_with_math_functions_passes():
    sqlite_math_functions_present(sender=None, connection=_Conn(sqlite3.connect(":memory:")))


def test_sqlite_without_math_functions_stops_start_up():
    raw = sqlite3.connect(":memory:")
    # what a SQLite built without SQLITE_ENABLE_MATH_FUNCTIONS answers
    raw.create_function("sqlite_compileoption_used", 1, lambda name: 0)
    with pytest.raises(SQLiteWithoutMath, match="SQLITE_ENABLE_MATH_FUNCTIONS"):
        sqlite_math_functions_present(sender=None, connection=_Conn(raw))


def test_other_databases_are_not_checked():
    class Pg:
        vendor = "postgresql"

    sqlite_math_functions_present(sender=None, connection=Pg())
