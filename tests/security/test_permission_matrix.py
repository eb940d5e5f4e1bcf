"""Issue 8's permission matrix: every page and API operation × every role × own and others' objects.

The world (tests/security/world.py) is built once for the module through the real services; each
row's requests run in a savepoint that is rolled back, so a row may delete a shop for its owner
and the next role still finds it. The roles:

    anonymous · unverified / verified resident · keeper_a, keeper_b (shop A in Jing'an, shop B in
    Pudong) · moderator_a, moderator_b (of Jing'an, of Pudong) · superuser

Objects are named for whose they are: `shop_a` is keeper_a's, `stall_verified` the verified
resident's, `conv_verified_shop_a` the verified resident's conversation with shop A. A row
names the roles that get through; everyone else must be refused with 403 or 404 (anonymous: 401 or
the log-in page), never a 500 and never a 200. Every answer is also searched for the private texts
of world.SECRETS that the role may not read (messages, claims, appeals, addresses, e-mails).

The completeness tests at the end fail when a URL pattern or an API operation has no row here (or
no documented exemption): a new endpoint must say who may use it.

Django admin is covered in test_admin_matrix.py, the sockets in test_socket_access.py.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.conftest import client_as
from tests.security.matrix import (
    ANY,
    EVERYONE,
    NO,
    NOBODY,
    OK,
    SIGNED_IN_ONLY,
    Row,
    but,
    judge,
    only,
    outcome,
    signed_in_any,
)
from tests.security.world import ROLES, SECRETS
from tests.shops.factories import image_upload

pytestmark = pytest.mark.usefixtures("no_flood_limits")

# Shorthands for the rows.
A_PARTIES = only("verified", "keeper_a")  # the verified resident and shop A: their conversation, deal, claim
RESIDENTS_CHAT = only("unverified", "verified")  # the two residents' conversation about Vera's bicycle
HIDDEN_A = only("keeper_a", "moderator_a", "superuser")  # shop A's stall hidden by moderation
DEAL_A_READERS = only("verified", "keeper_a", "moderator_a", "superuser")  # its parties and its area's moderators
SIGNED_IN_OWN = SIGNED_IN_ONLY  # signed-in roles, each about themselves only (lists, settings)

PAGES: list[Row] = [
    # --- accounts -----------------------------------------------------------------------------
    Row("home", "GET", EVERYONE),
    Row("accounts:sign_up", "GET", EVERYONE),
    Row("accounts:login", "GET", EVERYONE),
    Row("accounts:logout", "POST", EVERYONE),
    Row("accounts:profile", "GET", SIGNED_IN_OWN),
    Row("accounts:home", "GET", SIGNED_IN_OWN),
    Row("accounts:password_change", "GET", SIGNED_IN_OWN),
    Row("accounts:password_change_done", "GET", SIGNED_IN_OWN),
    Row("accounts:password_reset", "GET", EVERYONE),
    Row("accounts:password_reset_done", "GET", EVERYONE),
    Row(
        "accounts:password_reset_confirm",
        "GET",
        EVERYONE,
        kwargs={"uidb64": "Mg", "token": "set-password"},
        why="the token in the e-mail is the credential; a wrong one shows 'invalid link'",
    ),
    Row("accounts:password_reset_complete", "GET", EVERYONE),
    Row("accounts:resident_detail", "GET", SIGNED_IN_ONLY, kwargs={"pk": "verified"}),
    Row("accounts:language", "POST", EVERYONE, data={"language": "en"}),
    Row("accounts:my_data", "GET", SIGNED_IN_OWN),
    Row("accounts:my_data_json", "GET", SIGNED_IN_OWN, why="each resident's own data; the scan finds no one else's"),
    Row("accounts:my_data_html", "GET", SIGNED_IN_OWN),
    # --- shops --------------------------------------------------------------------------------
    Row("shops:list", "GET", EVERYONE),
    Row("shops:register", "GET", SIGNED_IN_ONLY),
    Row("shops:detail", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
    Row("shops:follow", "POST", SIGNED_IN_ONLY, kwargs={"pk": "shop_a"}),
    Row("shops:manage", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    Row("shops:edit", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    Row("shops:edit", "POST", only("keeper_a"), kwargs={"pk": "shop_a"}, data={"name": "Taken over"}),
    Row("shops:delete", "POST", only("keeper_a"), kwargs={"pk": "shop_a"}),
    Row("shops:staff", "POST", only("keeper_a"), kwargs={"pk": "shop_a"}, data={"username": "una"}),
    Row("shops:hours", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    Row("shops:hours", "POST", only("keeper_a"), kwargs={"pk": "shop_a"}, data={}),
    Row("shops:exception_remove", "POST", only("keeper_a"), kwargs={"pk": "shop_a", "date": "shop_a_closed_on"}),
    Row("shops:pledges", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    Row("shops:pledge_withdraw", "POST", only("keeper_a"), kwargs={"pk": "shop_a", "pledge_id": "shop_a_pledge"}),
    Row(
        "shops:pledge_withdraw",
        "POST",
        NOBODY,
        kwargs={"pk": "shop_a", "pledge_id": "shop_b_pledge"},
        why="shop B's pledge through shop A's address",
    ),
    Row("shops:photos", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    Row("shops:photo_remove", "POST", only("keeper_a"), kwargs={"pk": "shop_a", "photo_id": "shop_a_photo"}),
    Row("shops:photo_remove", "POST", NOBODY, kwargs={"pk": "shop_a", "photo_id": "shop_b_photo"}),
    Row("shops:qr", "GET", only("keeper_a"), kwargs={"pk": "shop_a", "kind": "qr.svg"}),
    # --- market -------------------------------------------------------------------------------
    Row("market:feed", "GET", EVERYONE),
    Row("market:map", "GET", EVERYONE),
    Row("market:mine", "GET", SIGNED_IN_OWN),
    Row("market:stall_create", "GET", SIGNED_IN_ONLY),
    Row("market:stall_detail", "GET", EVERYONE, kwargs={"pk": "stall_a"}),
    Row(
        "market:stall_detail",
        "GET",
        SIGNED_IN_ONLY,
        kwargs={"pk": "stall_verified"},
        why="a resident's stall is for signed-in neighbours",
    ),
    Row("market:stall_detail", "GET", HIDDEN_A, kwargs={"pk": "stall_a_hidden"}),
    Row("market:stall_edit", "GET", only("verified"), kwargs={"pk": "stall_verified"}),
    Row("market:stall_edit", "POST", only("verified"), kwargs={"pk": "stall_verified"}, data={"title": "Mine now"}),
    Row("market:stall_edit", "GET", only("keeper_a"), kwargs={"pk": "stall_a"}),
    Row("market:stall_status", "POST", only("verified"), kwargs={"pk": "stall_verified", "action": "reserve"}),
    Row("market:stall_status", "POST", only("keeper_a"), kwargs={"pk": "stall_a", "action": "close"}),
    # --- chat ---------------------------------------------------------------------------------
    Row("chat:list", "GET", SIGNED_IN_OWN),
    Row("chat:conversation", "GET", A_PARTIES, kwargs={"pk": "conv_verified_shop_a"}),
    Row("chat:conversation", "GET", RESIDENTS_CHAT, kwargs={"pk": "conv_residents"}),
    Row(
        "chat:conversation",
        "GET",
        but(SIGNED_IN_ONLY, keeper_b=NO, moderator_b=NO),
        kwargs={"pk": "room_a"},
        why="Jing'an's room: its neighbours and moderators read it; keeper B and moderator B live in Pudong",
    ),
    Row("chat:room", "GET", SIGNED_IN_OWN),
    Row("chat:open_stall", "POST", signed_in_any(), kwargs={"stall_id": "stall_a"}),
    Row(
        "chat:open_stall",
        "POST",
        but(NOBODY, keeper_a=ANY, moderator_a=ANY, superuser=ANY),
        kwargs={"stall_id": "stall_a_hidden"},
        why="a hidden stall: not found for those who may not see it",
    ),
    Row("chat:open_shop", "POST", signed_in_any(), kwargs={"shop_id": "shop_b"}),
    Row("chat:open_resident", "POST", signed_in_any(), kwargs={"resident_id": "verified"}),
    Row("chat:block", "POST", signed_in_any(), kwargs={"resident_id": "keeper_b"}),
    Row("chat:unblock", "POST", signed_in_any(), kwargs={"resident_id": "keeper_b"}),
    Row(
        "chat:report",
        "GET",
        but(only("verified"), keeper_a=ANY),
        kwargs={"message_id": "msg_keeper_a"},
        why="only a member of the conversation can see, hence report, a message",
    ),
    Row(
        "chat:report",
        "POST",
        but(only("verified"), keeper_a=ANY),
        kwargs={"message_id": "msg_keeper_a"},
        data={"reason": "harassment", "note": ""},
    ),
    # --- notifications ------------------------------------------------------------------------
    Row("notifications:list", "GET", SIGNED_IN_OWN),
    Row("notifications:open", "POST", only("verified"), kwargs={"pk": "notification_verified"}),
    Row("notifications:read_all", "POST", SIGNED_IN_OWN),
    Row("notifications:preferences", "GET", SIGNED_IN_OWN),
    Row(
        "notifications:unsubscribe",
        "GET",
        EVERYONE,
        kwargs={"token": "unsubscribe_verified"},
        why="the signed token is the credential (e-mail links work without logging in)",
    ),
    # --- moderation ---------------------------------------------------------------------------
    Row("moderation:report", "GET", signed_in_any(), kwargs={"kind": "stall", "object_id": "stall_verified"}),
    Row(
        "moderation:report",
        "GET",
        but(only("verified"), keeper_a=ANY),
        kwargs={"kind": "message", "object_id": "msg_keeper_a"},
        why="a message can be reported only by who can read it",
    ),
    Row(
        "moderation:report",
        "POST",
        signed_in_any(),
        kwargs={"kind": "shop", "object_id": "shop_b"},
        data={"reason": "scam", "note": ""},
    ),
    Row("moderation:my_reports", "GET", SIGNED_IN_OWN),
    Row("moderation:decisions", "GET", SIGNED_IN_OWN),
    Row("moderation:appeal", "GET", only("keeper_a"), kwargs={"pk": "decision_a"}),
    Row("moderation:appeal", "POST", only("keeper_a"), kwargs={"pk": "decision_a"}, data={"text": "Look again."}),
    Row(
        "moderation:appeal_by_link",
        "GET",
        EVERYONE,
        kwargs={"token": "appeal_link_keeper_a"},
        why="the signed link from the decision's e-mail is the credential (a banned resident cannot log in)",
    ),
    # --- trust --------------------------------------------------------------------------------
    Row("trust:residency", "GET", SIGNED_IN_OWN),
    Row("trust:letter_request", "POST", signed_in_any(), data={"postal_address": "9 Nanjing Road, Shanghai"}),
    Row("trust:letter_cancel", "POST", signed_in_any()),
    Row("trust:code_enter", "POST", signed_in_any(), data={"letter_code": "AAAA-AAAA"}),
    Row("trust:privacy", "POST", SIGNED_IN_OWN, data={"share_acquaintances": "on"}),
    Row("trust:vouch", "POST", signed_in_any(), kwargs={"pk": "unverified"}),
    Row("trust:unvouch", "POST", signed_in_any(), kwargs={"pk": "unverified"}),
    Row("trust:recognise", "POST", signed_in_any(), kwargs={"pk": "unverified"}),
    Row("trust:unrecognise", "POST", signed_in_any(), kwargs={"pk": "unverified"}),
    Row("trust:deals", "GET", SIGNED_IN_OWN),
    Row("trust:deal", "GET", DEAL_A_READERS, kwargs={"pk": "deal_a"}),
    Row("trust:review", "POST", A_PARTIES, kwargs={"pk": "deal_a"}, data={"stars": "1", "text": "Bad"}),
    Row(
        "trust:claim_open",
        "POST",
        but(only("verified"), keeper_a=ANY),
        kwargs={"pk": "deal_a"},
        data={"kind": "refund_no_return", "text": "Broken on arrival"},
    ),
    Row(
        "trust:deal_action",
        "POST",
        but(only("unverified"), verified=ANY),
        kwargs={"pk": "deal_proposed", "action": "confirm"},
        why="the buyer confirms; the seller may not (a rule of the deal, 403)",
    ),
    Row(
        "trust:deal_action",
        "POST",
        but(only("verified"), unverified=ANY),
        kwargs={"pk": "deal_proposed", "action": "cancel"},
    ),
    Row(
        "trust:deal_mark",
        "POST",
        but(only("keeper_a"), verified=ANY),
        kwargs={"conversation_id": "conv_verified_shop_a"},
        data={"stall": "@stall_a", "price": "5.00", "quantity": "1"},
    ),
    Row("trust:review_reply", "POST", only("keeper_a"), kwargs={"pk": "review_a"}, data={"text": "Thank you!"}),
    Row("trust:claim", "GET", DEAL_A_READERS, kwargs={"pk": "claim_a"}),
    Row(
        "trust:claim_answer",
        "POST",
        but(only("keeper_a"), verified=ANY),
        kwargs={"pk": "claim_a"},
        data={"accept": "no", "reason": "They were sweet when sold."},
    ),
    Row(
        "trust:claim_dispute",
        "POST",
        but(only("verified"), keeper_a=ANY),
        kwargs={"pk": "claim_a"},
        data={"text": "They were sour."},
    ),
]


def api(name, method, expect, **kw) -> Row:
    return Row(name, method, expect, json=True, **kw)


API: list[Row] = [
    # --- accounts -----------------------------------------------------------------------------
    api("api-me", "GET", SIGNED_IN_OWN),
    api("api-me", "PATCH", SIGNED_IN_OWN, data={"display_name": "New name"}),
    api("api-me-home", "PUT", SIGNED_IN_OWN, data={"lat": 31.2155, "lng": 121.4566}),
    api("api-me-home", "DELETE", SIGNED_IN_OWN),
    Row("api-me-avatar", "POST", SIGNED_IN_OWN, data={"avatar": image_upload}),
    api("api-area-snap", "GET", SIGNED_IN_ONLY, query="lat=31.2155&lng=121.4566"),
    api("api-resident-detail", "GET", SIGNED_IN_ONLY, kwargs={"pk": "verified"}),
    # --- shops --------------------------------------------------------------------------------
    api("api-shops", "GET", EVERYONE, query="lat=31.2155&lng=121.4566"),
    api("api-shops", "POST", signed_in_any(), data={"name": "New shop", "category": "groceries"}),
    api("api-shops-mine", "GET", SIGNED_IN_OWN),
    api("api-shop-detail", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
    api("api-shop-detail", "PATCH", only("keeper_a"), kwargs={"pk": "shop_a"}, data={"description": "Ours now"}),
    api("api-shop-detail", "DELETE", only("keeper_a"), kwargs={"pk": "shop_a"}),
    api("api-shop-photos", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
    Row("api-shop-photos", "POST", only("keeper_a"), kwargs={"pk": "shop_a"}, data={"image": image_upload}),
    api("api-shop-photo", "DELETE", only("keeper_a"), kwargs={"pk": "shop_a", "photo_id": "shop_a_photo"}),
    api("api-shop-photo", "DELETE", NOBODY, kwargs={"pk": "shop_a", "photo_id": "shop_b_photo"}),
    api("api-shop-hours", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
    api("api-shop-hours", "PUT", only("keeper_a"), kwargs={"pk": "shop_a"}, data={"hours": []}),
    api("api-shop-exceptions", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
    api(
        "api-shop-exceptions",
        "POST",
        only("keeper_a"),
        kwargs={"pk": "shop_a"},
        data={"date": "2030-01-01", "closed": True},
    ),
    api("api-shop-exception", "DELETE", only("keeper_a"), kwargs={"pk": "shop_a", "date": "shop_a_closed_on"}),
    api("api-shop-pledges", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
    api("api-shop-pledges", "POST", only("keeper_a"), kwargs={"pk": "shop_a"}, data={"kind": "counterfeit"}),
    api("api-shop-pledge", "DELETE", only("keeper_a"), kwargs={"pk": "shop_a", "pledge_id": "shop_a_pledge"}),
    api("api-shop-pledge", "DELETE", NOBODY, kwargs={"pk": "shop_a", "pledge_id": "shop_b_pledge"}),
    api("api-shop-follow", "POST", SIGNED_IN_ONLY, kwargs={"pk": "shop_a"}),
    api("api-shop-follow", "DELETE", SIGNED_IN_ONLY, kwargs={"pk": "shop_a"}),
    api("api-shop-staff", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    api("api-shop-staff", "POST", only("keeper_a"), kwargs={"pk": "shop_a"}, data={"username": "una"}),
    api("api-shop-staff-member", "DELETE", only("keeper_a"), kwargs={"pk": "shop_a", "resident_id": "unverified"}),
    api("api-shop-qr-png", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    api("api-shop-qr-svg", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    api("api-shop-poster-pdf", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    api("api-shop-poster-png", "GET", only("keeper_a"), kwargs={"pk": "shop_a"}),
    api("api-pledge-catalogue", "GET", EVERYONE),
    api("api-pledge", "GET", EVERYONE, kwargs={"pledge_id": "shop_a_pledge"}, why="pledges are public promises"),
    # --- market -------------------------------------------------------------------------------
    api("api-stalls", "GET", SIGNED_IN_OWN),
    api("api-stalls", "POST", signed_in_any(), data={"kind": "sale", "title": "Chair", "price": "5.00"}),
    api("api-stall-feed", "GET", EVERYONE, query="lat=31.2155&lng=121.4566"),
    api("api-stall-detail", "GET", EVERYONE, kwargs={"pk": "stall_a"}),
    api("api-stall-detail", "GET", SIGNED_IN_ONLY, kwargs={"pk": "stall_verified"}),
    api("api-stall-detail", "GET", HIDDEN_A, kwargs={"pk": "stall_a_hidden"}),
    api("api-stall-detail", "PATCH", only("verified"), kwargs={"pk": "stall_verified"}, data={"title": "Mine now"}),
    api("api-stall-detail", "PATCH", only("keeper_a"), kwargs={"pk": "stall_a"}, data={"title": "Ours now"}),
    api("api-stall-reserve", "POST", only("verified"), kwargs={"pk": "stall_verified"}),
    api("api-stall-reopen", "POST", only("verified"), kwargs={"pk": "stall_verified"}),
    api("api-stall-close", "POST", only("keeper_a"), kwargs={"pk": "stall_a"}),
    api("api-stall-renew", "POST", only("verified"), kwargs={"pk": "stall_verified"}),
    Row("api-stall-photos", "POST", only("verified"), kwargs={"pk": "stall_verified"}, data={"photos": image_upload}),
    api(
        "api-stall-photo",
        "DELETE",
        only("verified"),
        kwargs={"pk": "stall_verified", "photo_id": "stall_verified_photo"},
    ),
    api(
        "api-stall-photo",
        "DELETE",
        but(NOBODY, verified=ANY),
        kwargs={"pk": "stall_verified", "photo_id": "stall_a_photo"},
        why="shop A's photo through Vera's stall: her own stall answers 400, no such photo on it",
    ),
    # --- chat ---------------------------------------------------------------------------------
    api("api-chat-conversations", "GET", SIGNED_IN_OWN),
    api("api-chat-conversations", "POST", signed_in_any(), data={"shop_id": "@shop_b"}),
    api("api-chat-conversation", "GET", A_PARTIES, kwargs={"pk": "conv_verified_shop_a"}),
    api("api-chat-conversation", "GET", RESIDENTS_CHAT, kwargs={"pk": "conv_residents"}),
    api("api-chat-messages", "GET", A_PARTIES, kwargs={"pk": "conv_verified_shop_a"}),
    api("api-chat-messages", "GET", RESIDENTS_CHAT, kwargs={"pk": "conv_residents"}),
    api(
        "api-chat-messages",
        "POST",
        A_PARTIES,
        kwargs={"pk": "conv_verified_shop_a"},
        data={"body": "Let me in", "client_id": "matrix-1"},
    ),
    api("api-chat-read", "POST", A_PARTIES, kwargs={"pk": "conv_verified_shop_a"}, data={"seq": 1}),
    api("api-chat-room-join", "POST", signed_in_any(), data={}),
    api(
        "api-chat-message-report",
        "POST",
        but(only("verified"), keeper_a=ANY),
        kwargs={"pk": "msg_keeper_a"},
        data={"reason": "harassment"},
    ),
    api("api-chat-blocks", "GET", SIGNED_IN_OWN),
    api("api-chat-blocks", "POST", signed_in_any(), data={"resident_id": "@keeper_b"}),
    api("api-chat-block", "DELETE", signed_in_any(), kwargs={"resident_id": "keeper_b"}),
    # --- notifications ------------------------------------------------------------------------
    api("api-notifications", "GET", SIGNED_IN_OWN),
    api("api-notifications-unread", "GET", SIGNED_IN_OWN),
    api("api-notification-read", "POST", only("verified"), kwargs={"pk": "notification_verified"}),
    api("api-notification-preferences", "GET", SIGNED_IN_OWN),
    api("api-notification-preferences", "PATCH", SIGNED_IN_OWN, data={"digest": "weekly"}),
    api("api-notifications-read-all", "POST", SIGNED_IN_OWN),
    # --- moderation ---------------------------------------------------------------------------
    api("api-report-file", "POST", signed_in_any(), data={"kind": "shop", "object_id": "@shop_b", "reason": "scam"}),
    api(
        "api-report-file",
        "POST",
        but(only("verified"), keeper_a=ANY),
        query="about=message",
        data={"kind": "message", "object_id": "@msg_keeper_a", "reason": "harassment"},
        why="a message can be reported only by who can read it",
    ),
    api("api-reports-mine", "GET", SIGNED_IN_OWN),
    api("api-decisions-mine", "GET", SIGNED_IN_OWN),
    api("api-decision-appeal", "POST", only("keeper_a"), kwargs={"pk": "decision_a"}, data={"text": "Look again."}),
    # --- trust --------------------------------------------------------------------------------
    api("api-trust-residency", "GET", SIGNED_IN_OWN),
    api("api-trust-letter", "POST", signed_in_any(), data={"postal_address": "9 Nanjing Road, Shanghai"}),
    api("api-trust-letter", "DELETE", signed_in_any()),
    api("api-trust-code", "POST", signed_in_any(), data={"letter_code": "AAAA-AAAA"}),
    api("api-trust-privacy", "GET", SIGNED_IN_OWN),
    api("api-trust-privacy", "PUT", SIGNED_IN_OWN, data={"share_acquaintances": False}),
    api("api-trust-acquaintance", "GET", SIGNED_IN_ONLY, kwargs={"pk": "unverified"}),
    api("api-trust-vouch", "POST", signed_in_any(), kwargs={"pk": "unverified"}),
    api("api-trust-vouch", "DELETE", signed_in_any(), kwargs={"pk": "unverified"}),
    api("api-trust-recognise", "POST", signed_in_any(), kwargs={"pk": "unverified"}),
    api("api-trust-recognise", "DELETE", signed_in_any(), kwargs={"pk": "unverified"}),
    api("api-trust-resident-reviews", "GET", SIGNED_IN_ONLY, kwargs={"pk": "verified"}),
    api("api-trust-deals", "GET", SIGNED_IN_OWN),
    api(
        "api-trust-deals",
        "POST",
        but(only("keeper_a"), verified=ANY),
        data={"conversation": "@conv_verified_shop_a", "stall": "@stall_a", "price": "5.00"},
    ),
    api("api-trust-deal", "GET", DEAL_A_READERS, kwargs={"pk": "deal_a"}),
    api("api-trust-deal-confirm", "POST", but(only("unverified"), verified=ANY), kwargs={"pk": "deal_proposed"}),
    api("api-trust-deal-decline", "POST", but(only("unverified"), verified=ANY), kwargs={"pk": "deal_proposed"}),
    api("api-trust-deal-cancel", "POST", but(only("verified"), unverified=ANY), kwargs={"pk": "deal_proposed"}),
    api("api-trust-deal-review", "POST", A_PARTIES, kwargs={"pk": "deal_a"}, data={"stars": 1, "text": "Bad"}),
    api(
        "api-trust-deal-claim",
        "POST",
        but(only("verified"), keeper_a=ANY),
        kwargs={"pk": "deal_a"},
        data={"kind": "refund_no_return", "text": "Broken on arrival"},
    ),
    api("api-trust-review-reply", "POST", only("keeper_a"), kwargs={"pk": "review_a"}, data={"text": "Thank you!"}),
    api("api-trust-claims", "GET", SIGNED_IN_OWN),
    api("api-trust-claim", "GET", DEAL_A_READERS, kwargs={"pk": "claim_a"}),
    api(
        "api-trust-claim-answer",
        "POST",
        but(only("keeper_a"), verified=ANY),
        kwargs={"pk": "claim_a"},
        data={"accept": False, "reason": "They were sweet when sold."},
    ),
    api(
        "api-trust-claim-dispute",
        "POST",
        but(only("verified"), keeper_a=ANY),
        kwargs={"pk": "claim_a"},
        data={"text": "They were sour."},
    ),
    api("api-trust-shop-reviews", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
    api("api-trust-shop-reputation", "GET", EVERYONE, kwargs={"pk": "shop_a"}),
]

# URL patterns outside the matrix, and why.
EXEMPT = {
    "api-schema": "the API's description, public by design (tests/api)",
    "api-docs": "the API's documentation page, public by design",
    "api-redoc": "the API's documentation page, public by design",
    "rest_framework:login": "DRF's log-in form for the browsable API (the same LoginView as accounts:login)",
    "rest_framework:logout": "DRF's log-out for the browsable API",
    "media": "uploaded files, public by their unguessable names (tests/core covers EXIF stripping)",
}
ADMIN_PREFIX = "admin:"  # Django admin: test_admin_matrix.py


# --- Running a row --------------------------------------------------------------------------------------


def _request(row: Row, world, role: str):
    client = client_as(world, role)
    url, body = row.url(world), row.body(world)
    method = getattr(client, row.method.lower())
    if row.method == "GET":
        return method(url)
    if row.json:
        return method(url, data=json.dumps(body or {}), content_type="application/json")
    if row.method == "POST":
        return method(url, data=body or {})
    return method(url, data=body or {}, content_type="application/x-www-form-urlencoded")


def _leaks(response, role: str) -> list[str]:
    content_type = response.get("Content-Type", "")
    if not content_type.startswith(("text/", "application/json")) or getattr(response, "streaming", False):
        return []
    text = response.content.decode(errors="replace")
    return [secret for secret, audience in SECRETS.items() if role not in audience and secret in text]


def _check(row: Row, world) -> None:
    problems = []
    for role in ROLES:
        with transaction.atomic():
            response = _request(row, world, role)
            transaction.set_rollback(True)
        got = outcome(response, role)
        expected = row.expect[role]
        location = f" → {response['Location']}" if response.has_header("Location") else ""
        if not judge(expected, got):
            problems.append(f"  {role:12} expected {expected:8} got {response.status_code}{location} ({got})")
        leaked = _leaks(response, role)
        if leaked:
            problems.append(f"  {role:12} {response.status_code}: the answer shows {leaked}")
    assert not problems, f"{row.id}" + (f" [{row.why}]" if row.why else "") + "\n" + "\n".join(problems)


@pytest.mark.parametrize("row", PAGES, ids=lambda r: r.id)
def test_page(world, db, row):
    _check(row, world)


@pytest.mark.parametrize("row", API, ids=lambda r: r.id)
def test_api(world, db, row):
    _check(row, world)


# --- Completeness -----------------------------------------------------------------------------------


def _patterns(patterns=None, namespace=None):
    """(name, route) of every URL pattern, namespaced as reverse() wants."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace and (f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace)
            yield from _patterns(pattern.url_patterns, inner or namespace)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            if not name:  # unnamed: the media files, or a catch-all inside a namespace such as admin's
                name = f"{namespace}:" if namespace else str(pattern.pattern).split("/")[0]
            yield name, str(pattern.pattern)


def test_every_url_pattern_has_a_row_or_an_exemption():
    covered = {row.name for row in PAGES + API} | set(EXEMPT)
    missing = sorted(
        {name for name, _route in _patterns() if not name.startswith(ADMIN_PREFIX) and name not in covered}
    )
    assert not missing, f"URL patterns without a row in the permission matrix: {missing}"


def test_every_api_operation_has_a_row():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {(method.upper(), _shape(path)) for path, ops in schema["paths"].items() for method in ops}
    covered = {(row.method, _shape(_route_of(row.name))) for row in API}
    missing = sorted(operations - covered)
    assert not missing, f"API operations without a row in the permission matrix: {missing}"
    stale = sorted(covered - operations)
    assert not stale, f"Rows for operations the schema does not describe: {stale}"


def test_rows_are_unique():
    ids = [row.id for row in PAGES + API]
    assert len(ids) == len(set(ids)), {i for i in ids if ids.count(i) > 1}


def _route_of(name: str) -> str:
    routes = {n: "/" + r for n, r in _patterns_full()}
    return routes[name]


def _patterns_full(patterns=None, prefix="", namespace=None):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace and (f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace)
            yield from _patterns_full(pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace)
        elif pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


def _shape(path: str) -> str:
    """/api/shops/<int:pk>/ and /api/shops/{id}/ both become /api/shops/{}/."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


assert set(EVERYONE) == set(ROLES) and {OK, NO} >= set(NOBODY.values())
