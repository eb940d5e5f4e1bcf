"""Trust test helpers: every row is made through the real services (chat, market, trust)."""

import itertools
from datetime import timedelta

from django.utils import timezone

from apps.accounts.models import Resident
from apps.chat import services as chat
from apps.nearby import geo
from apps.trust import services
from tests.accounts.factories import JINGAN, ResidentFactory

_ids = itertools.count()

# About 1.5 km from JINGAN: far outside its vouching ring.
FAR = geo.Point(31.2290, 121.4420)


def neighbour(*, home: geo.Point = JINGAN, days_old: int = 60, verified: bool = False, **fields) -> Resident:
    """A resident living at `home`, whose account is `days_old` days old."""
    resident = ResidentFactory(home=home, **fields)
    Resident.objects.filter(pk=resident.pk).update(date_joined=timezone.now() - timedelta(days=days_old))
    resident.refresh_from_db()
    if verified:
        verify(resident)
    return resident


def moderator() -> Resident:
    return ResidentFactory(username=f"mod{next(_ids)}", is_staff=True, is_superuser=True)


def verify(resident: Resident) -> Resident:
    services.residency_decide(moderator=moderator(), resident=resident, verify=True, reason="Met at the fair")
    resident.refresh_from_db()
    return resident


def say(sender, conversation, body="hello"):
    return chat.message_send(sender=sender, conversation_id=conversation.pk, body=body, client_msg_id=f"m{next(_ids)}")


def talk_about(stall, buyer, *, seller=None):
    """The buyer writes about the stall and the seller (or the shop's owner) answers."""
    conversation = chat.conversation_open_for_stall(resident=buyer, stall=stall)
    say(buyer, conversation, "Is it still available?")
    say(seller or (stall.shop.owner if stall.shop_id else stall.seller), conversation, "Yes!")
    return conversation


def deal(stall, buyer, *, seller=None, confirm=True, **kwargs):
    seller = seller or (stall.shop.owner if stall.shop_id else stall.seller)
    conversation = talk_about(stall, buyer, seller=seller)
    made = services.deal_mark(seller=seller, conversation_id=conversation.pk, stall=stall, **kwargs)
    if confirm:
        made = services.deal_confirm(buyer=buyer, deal=made)
    return made
