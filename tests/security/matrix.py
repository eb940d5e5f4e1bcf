"""The machinery of the permission matrix: rows, roles, what counts as allowed and as refused.

A row is one route and method on one object of the world (tests/security/world.py) and says, for
each role, what must happen:

- OK: the role gets through (any answer but a refusal or a server error: a 400 for a rule of the
  neighbourhood, "already done", counts as getting through);
- NO: refused with 403 or 404 (anonymous: also 401, or a redirect to a log-in page), never a 2xx;
- ANY: either, as long as it is not a server error (a rule about the role itself, not about whose
  object it is: an unverified resident may not vouch, a shopkeeper may not buy from their own shop).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from django.urls import reverse

from tests.security.world import ROLES

OK, NO, ANY = "allowed", "refused", "any"

RESIDENTS = ("unverified", "verified", "keeper_a", "keeper_b")
STAFF = ("moderator_a", "moderator_b", "superuser")
SIGNED_IN = (*RESIDENTS, *STAFF)


def only(*roles: str) -> dict[str, str]:
    """These roles get through; everyone else is refused."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    return {role: OK if role in roles else NO for role in ROLES}


EVERYONE = only(*ROLES)
SIGNED_IN_ONLY = only(*SIGNED_IN)
NOBODY = only()


def signed_in_any(**exceptions: str) -> dict[str, str]:
    """Anonymous refused; signed-in roles either way (a rule about who they are, not whose object)."""
    return {**dict.fromkeys(SIGNED_IN, ANY), "anonymous": NO, **exceptions}


def but(expect: dict[str, str], **changes: str) -> dict[str, str]:
    return {**expect, **changes}


@dataclass(frozen=True)
class Row:
    name: str  # the URL name, as reverse() takes it
    method: str
    expect: dict[str, str]
    kwargs: dict = field(default_factory=dict)  # URL kwargs: a world object's key (its pk is used) or a literal
    data: dict | None = None
    json: bool = False  # the body as JSON (the API) rather than a form
    query: str = ""
    why: str = ""

    @property
    def id(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.method} {self.name}" + (f"({args})" if args else "") + (f"?{self.query}" if self.query else "")

    def url(self, world) -> str:
        kwargs = {}
        for key, value in self.kwargs.items():
            if isinstance(value, str) and value in world.objects:
                obj = world.objects[value]
                value = getattr(obj, "pk", obj)
            elif isinstance(value, str) and value in world.roles:
                value = world.roles[value].pk
            kwargs[key] = value
        url = reverse(self.name, kwargs=kwargs or None)
        return f"{url}?{self.query}" if self.query else url

    def body(self, world) -> dict | None:
        """The data, with "@key" values replaced by that world object's pk."""
        if self.data is None:
            return None
        return {key: _resolve(world, value) for key, value in self.data.items()}


def _resolve(world, value):
    if callable(value):  # a fresh upload for each request
        return value()
    if isinstance(value, str) and value.startswith("@"):
        key = value[1:]
        obj = world.objects.get(key) or world.roles[key]
        return getattr(obj, "pk", obj)
    return value


def is_login_redirect(response) -> bool:
    if response.status_code not in (301, 302, 303):
        return False
    path = urlparse(response["Location"]).path
    return path.endswith("/login/")


def outcome(response, role: str) -> str:
    """What the answer was: "error", "refused" or "allowed"."""
    status = response.status_code
    if status >= 500:
        return "error"
    if status in (403, 404):
        return "refused"
    if role == "anonymous" and (status == 401 or is_login_redirect(response)):
        return "refused"
    if is_login_redirect(response):
        # A signed-in role sent to log in again: refused, but say so (admin does this for non-staff).
        return "refused"
    return "allowed"


def judge(expectation: str, got: str) -> bool:
    if got == "error":
        return False
    return expectation == ANY or (expectation == OK and got == "allowed") or (expectation == NO and got == "refused")
