"""Django admin in the permission matrix.

- Residents, shopkeepers and visitors get no admin: every admin URL pattern (instantiated with a
  real object where it takes one) sends them to the admin's log-in page; staff never get a 5xx.
- Area moderators see and act on their own area only: for each area-scoped model, the change page
  (and for a case, its decision page) of the object in area A and of the one in area B; the lists
  show the rows of one's own area only; an action on another area's case changes nothing.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.moderation.models import Case
from tests.security.conftest import client_as
from tests.security.matrix import is_login_redirect
from tests.security.test_permission_matrix import _patterns
from tests.security.world import ROLES

NON_STAFF = ("anonymous", "unverified", "verified", "keeper_a", "keeper_b")
STAFF = ("moderator_a", "moderator_b", "superuser")

# Admin URL patterns outside the first table, and why.
ADMIN_EXEMPT = {
    "admin:login": "the admin's log-in form: open to anyone by design",
    "admin:logout": "POST only; logging out is harmless",
    "admin:": "the admin's catch-all (answers for unknown admin URLs)",
}

# The world object whose page an admin URL of each model opens.
OBJECT_OF = {
    "moderation_case": "case_a",
    "moderation_decision": "decision_a",
    "moderation_appeal": "appeal_a",
    "shops_shop": "shop_a",
    "shops_shoppledge": "shop_a_pledge",
    "market_stall": "stall_a",
    "chat_conversation": "conv_verified_shop_a",
    "chat_message": "msg_verified",
    "notifications_notification": "notification_verified",
    "trust_deal": "deal_a",
    "trust_review": "review_a",
    "trust_pledgeclaim": "claim_a",
    "trust_residencyletter": "letter_unverified",
    "accounts_resident": "verified",
}

pytestmark = pytest.mark.usefixtures("no_flood_limits")


def _admin_url(world, name: str, route: str) -> str:
    """An admin URL with its arguments taken from the world where it has them, else 1."""
    prefix = name.removeprefix("admin:").rsplit("_", 1)[0]
    key = OBJECT_OF.get(prefix)
    obj = (world.objects.get(key) or world.roles.get(key)) if key else None
    kwargs = {}
    for arg in ("object_id", "id"):
        if f"<path:{arg}>" in route or f"<{arg}>" in route:
            kwargs[arg] = obj.pk if obj is not None else 1
    if "app_label" in route:
        kwargs["app_label"] = "moderation"
    if "content_type_id" in route:
        from django.contrib.contenttypes.models import ContentType

        kwargs["content_type_id"] = ContentType.objects.get_for_model(world.shop_a).pk
        kwargs["object_id"] = world.shop_a.pk
    if "<str:action>" in route:
        kwargs["action"] = "hide"
    return reverse(name, kwargs=kwargs or None)


ADMIN_PATTERNS = sorted(
    (name, route) for name, route in _patterns() if name.startswith("admin:") and name not in ADMIN_EXEMPT
)


@pytest.mark.parametrize(("name", "route"), ADMIN_PATTERNS, ids=[name for name, _ in ADMIN_PATTERNS])
def test_no_admin_for_residents_and_no_server_error_for_staff(world, db, name, route):
    url = _admin_url(world, name, route)
    problems = []
    for role in ROLES:
        response = client_as(world, role).get(url)
        if role in NON_STAFF and not is_login_redirect(response):
            problems.append(f"  {role:12} got {response.status_code}, expected the admin's log-in page")
        if response.status_code >= 500:
            problems.append(f"  {role:12} got {response.status_code}")
    assert not problems, f"GET {url}\n" + "\n".join(problems)


def test_every_registered_model_has_its_admin_urls_checked():
    names = {name for name, _ in ADMIN_PATTERNS}
    for model in admin.site._registry:
        opts = model._meta
        assert f"admin:{opts.app_label}_{opts.model_name}_changelist" in names


# --- Areas -------------------------------------------------------------------------------------------

# (admin URL name, the object in area A, the one in area B)
AREA_ROWS = [
    ("admin:moderation_case_change", "case_a", "case_b"),
    ("admin:moderation_case_change", "open_case_a", "open_case_b"),
    ("admin:moderation_case_decide", "open_case_a", "open_case_b"),
    ("admin:moderation_case_history", "case_a", "case_b"),
    ("admin:moderation_decision_change", "decision_a", "decision_b"),
    ("admin:moderation_appeal_change", "appeal_a", "appeal_b"),
    ("admin:shops_shop_change", "shop_a", "shop_b"),
    ("admin:market_stall_change", "stall_a", "stall_b"),
    ("admin:market_stall_change", "stall_a_hidden", "stall_b_hidden"),
    ("admin:accounts_resident_change", "keeper_a", "keeper_b"),
    ("admin:trust_deal_change", "deal_a", "deal_b"),
]
AREA_EXPECT = {
    # role: (sees area A, sees area B)
    "moderator_a": (True, False),
    "moderator_b": (False, True),
    "superuser": (True, True),
}


def _admin_refused(response) -> bool:
    """Django's admin answers for an object outside the queryset as for one that does not exist: a
    redirect to the admin's index (with a message); 403/404 are refusals too."""
    if response.status_code in (403, 404):
        return True
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def _object(world, key):
    return world.objects.get(key) or world.roles[key]


@pytest.mark.parametrize(("name", "in_a", "in_b"), AREA_ROWS, ids=[f"{n}({a},{b})" for n, a, b in AREA_ROWS])
def test_area_moderators_see_their_own_area_only(world, db, name, in_a, in_b):
    problems = []
    for role, sees in AREA_EXPECT.items():
        for key, allowed in zip((in_a, in_b), sees, strict=True):
            kwargs = {"object_id": _object(world, key).pk}
            if name.endswith("_decide"):
                kwargs["action"] = "hide"
            response = client_as(world, role).get(reverse(name, kwargs=kwargs))
            if allowed and response.status_code != 200:
                problems.append(f"  {role:12} {key}: {response.status_code}, expected 200")
            if not allowed and not _admin_refused(response):
                problems.append(f"  {role:12} {key}: {response.status_code}, expected a refusal")
    assert not problems, name + "\n" + "\n".join(problems)


# (changelist, text of the row in area A, text of the row in area B)
LIST_ROWS = [
    ("admin:moderation_case_changelist", "Shop A&#x27;s lemons", "Shop B&#x27;s apples"),
    ("admin:moderation_decision_changelist", "Shop A&#x27;s lemons", "Shop B&#x27;s apples"),
    ("admin:moderation_appeal_changelist", "They were oranges.", "They were pears, look."),
    ("admin:market_stall_changelist", "Shop A&#x27;s oranges", "Shop B&#x27;s pears"),
    ("admin:trust_deal_changelist", "Shop A&#x27;s oranges", "Shop B&#x27;s pears"),
]


@pytest.mark.parametrize(("name", "text_a", "text_b"), LIST_ROWS, ids=[n for n, _a, _b in LIST_ROWS])
def test_lists_show_the_rows_of_ones_own_area(world, db, name, text_a, text_b):
    problems = []
    for role, sees in AREA_EXPECT.items():
        response = client_as(world, role).get(reverse(name))
        body = response.content.decode()
        if response.status_code != 200:
            problems.append(f"  {role:12} {response.status_code}")
            continue
        for text, visible in zip((text_a, text_b), sees, strict=True):
            if (text in body) is not visible:
                problems.append(f"  {role:12} {'missing' if visible else 'shows'} {text!r}")
    assert not problems, name + "\n" + "\n".join(problems)


@pytest.mark.parametrize("how", ["queue action", "decision page"])
def test_a_moderator_cannot_decide_another_areas_case(world, db, how):
    case = world.open_case_b
    client = client_as(world, "moderator_a")
    data = {"apply": "1", "reason": "Not my area, trying anyway"}
    if how == "queue action":
        response = client.post(
            reverse("admin:moderation_case_changelist"), {**data, "action": "dismiss", "_selected_action": [case.pk]}
        )
    else:
        response = client.post(reverse("admin:moderation_case_decide", args=[case.pk, "dismiss"]), data)
    assert response.status_code < 500
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
