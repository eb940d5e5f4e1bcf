import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    # Reached for errors outside views too (a middleware reading the session) when DEBUG is off.
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable(request)
    if _wants_json(request):
        return JsonResponse({"detail": _("Something went wrong on our side."), "code": "server_error"}, status=500)
    return render(request, "500.html", status=500)


def permission_denied(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": _("You may not do that."), "code": "permission_denied"}, status=403)
    return render(request, "403.html", status=403)


def bad_request(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": _("Bad request."), "code": "bad_request"}, status=400)
    return render(request, "400.html", status=400)


# --- The database cannot be reached -----------------------------------------------------------------

DATABASE_RETRY_AFTER_S = 10


def is_database_unavailable(exc: BaseException | None) -> bool:
    """The connection to the database failed or dropped (not a bug in a query: those are 500s)."""
    return isinstance(exc, OperationalError | InterfaceError)


def database_unavailable(request):
    """The 503 answer while the database cannot be reached: JSON for the API, a page for people.

    The page is rendered without the context processors, which read the database (the bell's count,
    the session behind `user` and messages): its connection is the one that just failed.
    Whatever the request was writing was rolled back with its transaction."""
    if _wants_json(request):
        response = JsonResponse(
            {
                "detail": _("The neighbourhood's database cannot be reached right now. Try again in a moment."),
                "code": "database_unavailable",
                "retry_after": DATABASE_RETRY_AFTER_S,
            },
            status=503,
        )
    else:
        html = render_to_string(
            "503.html", {"request": request, "csrf_token": get_token(request), "retry_after": DATABASE_RETRY_AFTER_S}
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    return response
