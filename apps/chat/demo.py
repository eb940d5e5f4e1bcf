"""Demo conversations for the demo neighbourhood, made through the real services."""

from __future__ import annotations

import random

from apps.market.models import Stall
from apps.shops.models import Shop

from . import services

LINES = [
    ("你好，请问还在吗？", "在的，今天下午都在家。"),
    ("Is the bicycle still available?", "Yes! Come by after six, I'm on Yuyuan Road."),
    ("可以便宜一点吗？", "诚心要的话八十块吧。"),
    ("Thanks for the tomatoes yesterday, they were great.", "Glad you liked them, more on Saturday."),
]


def _talk(conversation, a, b, rng: random.Random, tag: str) -> None:
    first, second = rng.choice(LINES)
    services.message_send(sender=a, conversation_id=conversation.pk, body=first, client_msg_id=f"demo-{tag}-1")
    services.message_send(sender=b, conversation_id=conversation.pk, body=second, client_msg_id=f"demo-{tag}-2")


def seed(rng: random.Random, accounts: dict) -> None:
    resident, shopkeeper, moderator = accounts["resident"], accounts["shopkeeper"], accounts["moderator"]
    neighbours = [r for key, r in sorted(accounts.items()) if key.startswith("neighbour")]

    shop = Shop.objects.filter(owner=shopkeeper).order_by("id").first()
    if shop is not None:
        stall = Stall.objects.filter(shop=shop).order_by("id").first()
        if stall is None:
            conversation = services.conversation_open(resident=resident, shop=shop)
        else:
            conversation = services.conversation_open_for_stall(resident=resident, stall=stall)
        _talk(conversation, resident, shopkeeper, rng, "shop")
    else:
        conversation = services.conversation_open(resident=resident, other=shopkeeper)
        _talk(conversation, resident, shopkeeper, rng, "direct")

    for i, neighbour in enumerate(rng.sample(neighbours, k=min(3, len(neighbours)))):
        conversation = services.conversation_open(resident=neighbour, other=resident)
        _talk(conversation, neighbour, resident, rng, f"n{i}")

    # The moderator counts as verified, so the room has a welcome; the others join to read it.
    room = services.room_join(resident=moderator)
    services.message_send(
        sender=moderator,
        conversation_id=room.pk,
        body="欢迎来到静安的邻里聊天室！Welcome to the Jing'an neighbourhood room. Be kind, no ads please.",
        client_msg_id="demo-room-welcome",
    )
    for person in [resident, *neighbours[:10]]:
        if services.selectors.home_room_cell(person) == room.room_cell:
            services.room_join(resident=person)
