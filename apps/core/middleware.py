from django.http import Http404

from .views import database_unavailable, is_database_unavailable

# The largest id a database row can have (a signed 64-bit integer: BigAutoField on PostgreSQL,
# INTEGER on SQLite). Django's <int:...> path converter takes any length of digits.
MAX_ID = 2**63 - 1


class IdRangeMiddleware:
    """An id in the path beyond what the database can hold names nothing: 404 before the view runs
    (SQLite would raise OverflowError on the lookup, a 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not -MAX_ID - 1 <= value <= MAX_ID:
                raise Http404
        return None


class DatabaseUnavailableMiddleware:
    """A view whose database connection failed or dropped answers 503 with Retry-After (a page, or
    JSON for the API) instead of a 500. Django closes the broken connection when the request ends;
    the next request opens a new one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            return database_unavailable(request)
        return None
