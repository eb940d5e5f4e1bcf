"""One small neighbourhood for the authorisation tests, built through the real services.

Two areas (moderation areas are resolution-7 H3 cells): Jing'an (A) and Pudong (B). In A live an
unverified and a verified resident, shop A and its keeper, moderator A; in B shop B and its keeper,
moderator B. A superuser sees everything. Between them: stalls of each, conversations, deals,
reviews, a pledge claim, reports, decisions, appeals, notifications, a residency letter.

`World.roles` maps each role of the matrix to its resident (None: anonymous).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.accounts.models import Resident
from apps.accounts.services import resident_home_set
from apps.chat import services as chat
from apps.chat.models import Conversation
from apps.market.models import StallPhoto
from apps.moderation import notify
from apps.moderation import services as moderation
from apps.moderation.models import Case, Decision
from apps.notifications.emails import unsubscribe_token
from apps.notifications.models import Notification
from apps.shops import services as shops
from apps.shops.models import ShopPledge
from apps.trust import services as trust
from apps.trust.models import ResidencyLetter
from tests.accounts.factories import JINGAN
from tests.market.factories import photo, publish
from tests.moderation.factories import PUDONG, moderator, neighbour, superuser
from tests.shops.factories import ShopFactory, image_upload

ROLES = ("anonymous", "unverified", "verified", "keeper_a", "keeper_b", "moderator_a", "moderator_b", "superuser")

_ids = itertools.count()

LETTER_ADDRESS = "88 Huashan Road, flat 1203, Shanghai"

# What only some roles may ever read on the site or through the API, and who they are: every answer
# of the matrix to anyone else is searched for these texts.
SECRETS = {
    "Are they sweet?": {"verified", "keeper_a"},
    "Very sweet.": {"verified", "keeper_a"},  # a message between the verified resident and shop A
    "Still there?": {"unverified", "keeper_b"},  # the unverified resident and shop B
    "Does it have gears?": {"unverified", "verified"},  # between the two residents
    # The pledge claim on shop A, and shop A's private review of its buyer: the deal's parties and
    # the moderators of its area.
    "They were sour after all.": {"verified", "keeper_a", "moderator_a", "superuser"},
    "Kind buyer.": {"verified", "keeper_a", "moderator_a", "superuser"},
    "They were oranges.": {"keeper_a", "moderator_a", "superuser"},  # keeper A's appeal
    "They were pears, look.": {"keeper_b", "moderator_b", "superuser"},
    LETTER_ADDRESS: {"unverified"},  # where the unverified resident's letter goes
    "una@example.org": {"unverified"},
    "vera@example.org": {"verified"},
    "keeper_a@example.org": {"keeper_a"},
    "keeper_b@example.org": {"keeper_b"},
}


@dataclass
class World:
    roles: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)  # role → session key, for tests that sign in once

    def __getattr__(self, name):
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None


def _say(sender, conversation, body):
    return chat.message_send(sender=sender, conversation_id=conversation.pk, body=body, client_msg_id=f"w{next(_ids)}")


def build() -> World:
    w = World()
    unverified = neighbour(verified=False, age_days=40, username="una", display_name="Una Chen")
    verified = neighbour(verified=True, age_days=90, username="vera", display_name="Vera Li")
    keeper_a = neighbour(verified=True, age_days=90, username="keeper_a", display_name="Keeper A")
    keeper_b = neighbour(verified=True, age_days=90, home=PUDONG, username="keeper_b", display_name="Keeper B")
    moderator_a = moderator(at=JINGAN, username="moderator_a")
    moderator_b = moderator(at=PUDONG, username="moderator_b")
    resident_home_set(resident=moderator_b, lat=PUDONG.lat, lng=PUDONG.lng)  # each moderator lives in their area
    for mod in (moderator_a, moderator_b):
        # As a deployment may let its moderators read deals and claims (the admin scopes them by area).
        mod.user_permissions.add(*Permission.objects.filter(codename__in=["view_deal", "view_pledgeclaim"]))
    moderator_a, moderator_b = (Resident.objects.get(pk=m.pk) for m in (moderator_a, moderator_b))
    root = superuser(username="root", home=JINGAN)
    w.roles = {
        "anonymous": None,
        "unverified": unverified,
        "verified": verified,
        "keeper_a": keeper_a,
        "keeper_b": keeper_b,
        "moderator_a": moderator_a,
        "moderator_b": moderator_b,
        "superuser": root,
    }
    o = w.objects

    # Shops, one per area, each with a photo, a pledge, an exceptional closing day.
    o["shop_a"] = ShopFactory(owner=keeper_a, name="Shop A", lat=JINGAN.lat, lng=JINGAN.lng)
    o["shop_b"] = ShopFactory(owner=keeper_b, name="Shop B", lat=PUDONG.lat, lng=PUDONG.lng)
    for key in ("a", "b"):
        shop, keeper = o[f"shop_{key}"], w.roles[f"keeper_{key}"]
        o[f"shop_{key}_photo"] = shops.shop_photo_add(shop=shop, by=keeper, upload=image_upload())
        o[f"shop_{key}_pledge"] = shops.pledge_take(shop=shop, by=keeper, kind="refund_no_return")
        day = shops.shop_today(shop) + timezone.timedelta(days=3)
        shops.shop_exception_set(shop=shop, by=keeper, date=day, closed=True)
        o[f"shop_{key}_closed_on"] = day.isoformat()

    # Stalls: each shop's, and each resident's own.
    o["stall_a"] = publish(shop=o["shop_a"], title="Shop A's oranges")
    o["stall_b"] = publish(shop=o["shop_b"], title="Shop B's pears")
    o["stall_verified"] = publish(verified, title="Vera's bicycle")
    o["stall_unverified"] = publish(unverified, title="Una's lamp")
    for key in ("stall_a", "stall_verified"):
        o[f"{key}_photo"] = _stall_photo(o[key], w)

    # Conversations: the verified resident with shop A about its stall (a confirmed deal follows),
    # the unverified resident with shop B (a deal too), the two residents about Vera's bicycle,
    # and Jing'an's neighbourhood room.
    o["conv_verified_shop_a"] = chat.conversation_open_for_stall(resident=verified, stall=o["stall_a"])
    o["msg_verified"] = _say(verified, o["conv_verified_shop_a"], "Are they sweet?")
    o["msg_keeper_a"] = _say(keeper_a, o["conv_verified_shop_a"], "Very sweet.")
    o["conv_unverified_shop_b"] = chat.conversation_open_for_stall(resident=unverified, stall=o["stall_b"])
    _say(unverified, o["conv_unverified_shop_b"], "Still there?")
    o["msg_keeper_b"] = _say(keeper_b, o["conv_unverified_shop_b"], "Yes.")
    o["conv_residents"] = chat.conversation_open_for_stall(resident=unverified, stall=o["stall_verified"])
    o["msg_unverified"] = _say(unverified, o["conv_residents"], "Does it have gears?")
    o["room_a"] = chat.room_join(resident=verified)
    chat.room_join(resident=unverified)

    # Deals, reviews, a pledge claim.
    o["deal_a"] = trust.deal_confirm(
        buyer=verified,
        deal=trust.deal_mark(seller=keeper_a, conversation_id=o["conv_verified_shop_a"].pk, price="10.00"),
    )
    o["deal_b"] = trust.deal_confirm(
        buyer=unverified,
        deal=trust.deal_mark(seller=keeper_b, conversation_id=o["conv_unverified_shop_b"].pk, price="10.00"),
    )
    o["deal_proposed"] = trust.deal_mark(seller=verified, conversation_id=o["conv_residents"].pk, price="10.00")
    o["review_a"] = trust.review_write(author=verified, deal=o["deal_a"], stars=4, text="Sweet oranges.")
    o["review_of_buyer_a"] = trust.review_write(author=keeper_a, deal=o["deal_a"], stars=5, text="Kind buyer.")
    o["claim_a"] = trust.claim_open(
        buyer=verified, deal=o["deal_a"], kind="refund_no_return", text="They were sour after all."
    )

    # Reports, decided cases, appeals: one of each per area, on stalls of their own (upheld, the
    # stalls stay hidden).
    o["stall_a_hidden"] = publish(shop=o["shop_a"], title="Shop A's lemons sold as oranges")
    o["stall_b_hidden"] = publish(shop=o["shop_b"], title="Shop B's apples sold as pears")
    o["report_verified"] = moderation.report_file(
        reporter=verified, kind="stall", object_id=o["stall_b_hidden"].pk, reason="false_advertising"
    )
    o["report_unverified"] = moderation.report_file(
        reporter=unverified, kind="stall", object_id=o["stall_a_hidden"].pk, reason="false_advertising"
    )
    o["case_a"] = Case.objects.get(object_id=o["stall_a_hidden"].pk, kind="stall")
    o["case_b"] = Case.objects.get(object_id=o["stall_b_hidden"].pk, kind="stall")
    o["decision_a"] = moderation.case_decide(
        case=o["case_a"], moderator=moderator_a, action=Decision.Action.POINTS, tier=1, reason="Oranges were lemons"
    )
    o["decision_b"] = moderation.case_decide(
        case=o["case_b"], moderator=moderator_b, action=Decision.Action.POINTS, tier=1, reason="Pears were apples"
    )
    o["appeal_a"] = moderation.appeal_file(decision=o["decision_a"], appellant=keeper_a, text="They were oranges.")
    o["appeal_b"] = moderation.appeal_file(decision=o["decision_b"], appellant=keeper_b, text="They were pears, look.")
    # An open case in each area too (a report on each shop itself).
    moderation.report_file(reporter=verified, kind="shop", object_id=o["shop_a"].pk, reason="scam")
    moderation.report_file(reporter=verified, kind="shop", object_id=o["shop_b"].pk, reason="scam")
    o["open_case_a"] = Case.objects.get(object_id=o["shop_a"].pk, kind="shop")
    o["open_case_b"] = Case.objects.get(object_id=o["shop_b"].pk, kind="shop")

    # Notifications (the deals above sent some), a residency letter, tokens from e-mails.
    for role in ("verified", "unverified", "keeper_a", "keeper_b"):
        o[f"notification_{role}"] = Notification.objects.filter(recipient=w.roles[role]).latest("pk")
    o["letter_unverified"] = trust.residency_letter_request(resident=unverified, postal_address=LETTER_ADDRESS)
    o["unsubscribe_verified"] = unsubscribe_token(resident_id=verified.pk, scope="digest")
    o["appeal_link_keeper_a"] = notify.appeal_token(o["decision_a"])
    return w


def _stall_photo(stall, w: World) -> StallPhoto:
    from apps.market import services as market

    actor = stall.shop.owner if stall.shop_id else stall.seller
    market.stall_photos_add(stall=stall, actor=actor, photos=[photo()])
    return StallPhoto.objects.filter(stall=stall).latest("pk")


__all__ = ["ROLES", "Conversation", "ResidencyLetter", "ShopPledge", "World", "build"]
