"""What a locked-out log-in is answered with (django-axes calls it; settings.AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.utils.translation import gettext as _

from apps.core.ratelimit import too_many_requests, wait_text


def lockout_response(request, original_response=None, credentials=None):
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = _(
        "Too many failed log-ins for this account from your network. %(wait)s "
        "If you forgot your password, you can reset it."
    ) % {"wait": wait_text(seconds)}
    return too_many_requests(
        request,
        message=message,
        retry_after=seconds,
        code="locked_out",
        template="accounts/locked_out.html",
        json=_wants_json(request),
    )


def _wants_json(request) -> bool:
    # The API's log-in (/api/auth/login/) is a form people use in the browsable API: it gets the
    # page; programs that ask for JSON get JSON.
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or request.headers.get("X-Requested-With") == "XMLHttpRequest"
