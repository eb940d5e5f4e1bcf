from django.core.exceptions import ImproperlyConfigured


class SQLiteWithoutMath(ImproperlyConfigured):
    pass


def sqlite_math_functions_present(sender, connection, **kwargs):
    """Refuses to run on a SQLite built without its math functions.

    Without them Django registers Python fallbacks for sin/cos/asin, which made the nearby query
    many times slower; better to stop at start-up with a clear message.
    """
    if connection.vendor != "sqlite":
        return
    try:
        row = connection.connection.execute("SELECT sqlite_compileoption_used('ENABLE_MATH_FUNCTIONS'), sin(1)")
        built_in = row.fetchone()[0]
    except Exception as exc:
        raise SQLiteWithoutMath(f"SQLite has no math functions: {exc}") from exc
    if not built_in:
        raise SQLiteWithoutMath(
            "This SQLite was built without SQLITE_ENABLE_MATH_FUNCTIONS; the nearby queries need them. "
            "Use a Python whose sqlite3 is 3.35 or newer with math functions, or PostgreSQL."
        )
