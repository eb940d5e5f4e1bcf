"""One rate limiter for every write a person could flood: sign-ups, stalls, messages, reports,
vouches, home moves; and for the one read that moves an origin around neighbours, "near me now".

The services that own those writes call `rate_check(action, user=...)`; it counts one more `action`
for the user and for the client's address, and raises `RateLimited` (429, with `retry_after`
seconds) when either is over its limit. Interfaces need nothing of their own: the API's exception
handler, the HTML middleware below and the chat consumer turn the error into a 429 answer.

Counters are fixed windows in the Django cache: Redis in production, shared by every worker and
machine; the per-process memory cache in the embedded set-up (one process). A fixed window may let
up to twice the limit through around a window's edge; for flood control that is enough, and it
costs one cache round trip per check and scope.

The client's address reaches the services without passing through their signatures: the HTTP
middleware (`ClientAddressMiddleware`) and the WebSocket wrapper (`client_address_asgi`) set it for
the duration of each request or connection. Behind a proxy, uvicorn puts the client's address in the
ASGI scope from X-Forwarded-For when the proxy is trusted (--forwarded-allow-ips). Code that runs
outside a request (commands, tasks, the demo) has no address and is limited per user only.

Limits live in settings.JIEFANG_RATE_LIMITS: {action: {"user" | "address": (count, seconds)}};
JIEFANG_RATE_LIMIT_SCALE multiplies every count (benchmarks lift them with it).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from redis import RedisError

from .errors import DomainError

log = logging.getLogger(__name__)

client_address: ContextVar[str | None] = ContextVar("client_address", default=None)
# The refusals of the current HTTP request (a list shared by reference with the copies of the
# context that sync and async code run in), so the middleware sees a refusal a view caught.
_refusals: ContextVar[list | None] = ContextVar("rate_refusals", default=None)


class RateLimited(DomainError):
    """A 429 that says when to try again. Every refusal of this kind made during an HTTP request is
    remembered for the middleware: a page that catches it to show it on its form still answers 429
    with Retry-After (rate_check's limits, and rules of their own such as a locked residency letter)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = max(1, int(retry_after))
        refusals = _refusals.get()
        if refusals is not None:
            refusals.append(self)


def wait_text(seconds: int) -> str:
    """'Try again in 3 minutes.': the retry time in words, rounded up."""
    if seconds < 90:
        return ngettext("Try again in %(n)d second.", "Try again in %(n)d seconds.", seconds) % {"n": seconds}
    if seconds < 90 * 60:
        minutes = math.ceil(seconds / 60)
        return ngettext("Try again in %(n)d minute.", "Try again in %(n)d minutes.", minutes) % {"n": minutes}
    hours = math.ceil(seconds / 3600)
    return ngettext("Try again in %(n)d hour.", "Try again in %(n)d hours.", hours) % {"n": hours}


def _message(action: str, scope: str) -> str:
    """Why the write was refused, for the limit that was reached (the resident's or the network's)."""
    messages = {
        ("sign_up", "address"): _("Too many accounts were created from your network."),
        ("home_set", "user"): _("You have moved your home area too often."),
        ("home_set", "address"): _("Home areas were changed too often from your network."),
        ("near_me_now", "user"): _("You have asked for the feed around a position of your own too often."),
        ("near_me_now", "address"): _("The feed was asked for around positions too often from your network."),
        ("stall_publish", "user"): _("You are posting stalls too fast."),
        ("stall_publish", "address"): _("Too many stalls were posted from your network."),
        ("message_send", "user"): _("You are sending messages too fast."),
        ("message_send", "address"): _("Too many messages were sent from your network."),
        ("report_file", "user"): _("You have sent too many reports."),
        ("report_file", "address"): _("Too many reports were sent from your network."),
        ("vouch_give", "user"): _("You have vouched for too many neighbours."),
        ("vouch_give", "address"): _("Too many vouches were given from your network."),
    }
    return messages.get((action, scope), _("Too many requests."))


def address_key(address: str) -> str:
    """IPv6 hosts get a whole /64 each: an address is counted by its /64, or it would cost nothing
    to change."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip)


def _trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.JIEFANG_TRUSTED_PROXIES)))


@functools.lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n, strict=False) for n in configured)


def client_ip(request) -> str | None:
    """The address of the client, not of our own proxy. uvicorn already does this for the proxies
    of --forwarded-allow-ips; gunicorn leaves REMOTE_ADDR at the proxy's address. When the request
    comes from a trusted proxy (JIEFANG_TRUSTED_PROXIES), the client is the right-most address of
    X-Forwarded-For that is not one of ours: what a client writes itself stays to the left of it."""
    remote = request.META.get("REMOTE_ADDR") or None
    if remote is None or not _trusted_proxy(remote):
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if _trusted_proxy(address):
            continue
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            break  # not what a proxy of ours writes: count the proxy's own address
    return remote


def request_address(request) -> str | None:
    """The client's address as limits count it (django-axes counts log-in failures by it too)."""
    address = client_ip(request)
    return address_key(address) if address else None


def _count(key: str, window: int) -> int:
    try:
        cache.add(key, 0, timeout=window + 1)
        return cache.incr(key)
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, timeout=window + 1)
        return 1


def rate_check(action: str, *, user=None, address: str | None = None) -> None:
    """Counts one `action` for `user` and for `address` (the current client's when not given) and
    raises RateLimited when that goes over a limit. Call it where the write is decided, after
    the input was found valid: a refused form does not use up the allowance."""
    limits = settings.JIEFANG_RATE_LIMITS.get(action)
    if not limits:
        return
    address = address or client_address.get()
    idents = {
        "user": str(user.pk) if user is not None and getattr(user, "pk", None) else None,
        "address": address_key(address) if address else None,
    }
    scale = settings.JIEFANG_RATE_LIMIT_SCALE
    now = time.time()
    retry_after, reached = 0, None
    for scope, (count, seconds) in limits.items():
        if idents.get(scope) is None:
            continue
        window = int(seconds)
        start = int(now // window) * window
        try:
            used = _count(f"rl:{action}:{scope}:{idents[scope]}:{start}", window)
        except (RedisError, OSError):
            # Limits are a guard, not a rule of the neighbourhood: with the cache down, the write
            # goes through rather than fail.
            log.warning("rate limit %s not checked: the cache is unreachable", action, exc_info=True)
            return
        if used > max(1, int(count * scale)):
            wait = math.ceil(start + window - now)
            if wait > retry_after:
                retry_after, reached = wait, scope
    if reached:
        text = _message(action, reached)
        raise RateLimited(f"{text} {wait_text(retry_after)}", retry_after=retry_after)


# --- Answers ----------------------------------------------------------------------------------------


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def too_many_requests(
    request: HttpRequest,
    *,
    message: str,
    retry_after: int,
    code: str = "rate_limited",
    template: str = "429.html",
    json: bool | None = None,
):
    """The 429 answer: JSON for the API, a page for people; both say when to try again."""
    if wants_json(request) if json is None else json:
        response = JsonResponse({"detail": message, "code": code, "retry_after": retry_after}, status=429)
    else:
        response = render(request, template, {"message": message, "retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class ClientAddressMiddleware:
    """Makes the client's address known to `rate_check` for this request, and answers a RateLimited
    that a view let through with the 429 page.

    A view that catches the error to show it in its form (the resident keeps what they typed)
    answers 200 with the form; it becomes a 429 with Retry-After here, so that a form refused for
    flooding says so to the browser too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusals: list[RateLimited] = []
        address_token = client_address.set(client_ip(request))
        refusals_token = _refusals.set(refusals)
        try:
            response = self.get_response(request)
        finally:
            client_address.reset(address_token)
            _refusals.reset(refusals_token)
        if refusals and response.status_code == 200 and not wants_json(request):
            response.status_code = 429
            response["Retry-After"] = str(max(r.retry_after for r in refusals))
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return too_many_requests(request, message=exception.message, retry_after=exception.retry_after)
        return None


def client_address_asgi(app):
    """ASGI wrapper for WebSocket connections: the client's address for `rate_check` during the
    whole connection (the consumer's service calls run in copies of this context)."""

    async def wrapper(scope, receive, send):
        client = scope.get("client") or (None,)
        token = client_address.set(client[0])
        try:
            return await app(scope, receive, send)
        finally:
            client_address.reset(token)

    return wrapper
