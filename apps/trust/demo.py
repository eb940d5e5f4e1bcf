"""Trust in the demo neighbourhood: verified residents, vouches between neighbours, recognitions,
deals with reviews and replies, pledge claims in each state, and a letter waiting to be printed.
Everything goes through the real services (chat's too, for the conversations deals come from)."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.accounts.demo import moderators_group
from apps.accounts.models import Resident
from apps.chat import services as chat
from apps.market.models import Stall
from apps.shops import pledges
from apps.shops.models import Shop

from . import selectors, services

# What the Moderators group may do here: print letters, decide residency and escalated claims, and
# read the history.
MODERATOR_PERMISSIONS = [
    "print_letters",
    "decide_residency",
    "resolve_claim",
    "view_residencyletter",
    "view_letterbatch",
    "view_residencyevent",
    "view_residentresidency",
    "view_pledgeclaim",
    "view_deal",
    "view_review",
    "view_vouch",
]

REVIEWS = [
    (5, "新鲜，老板人很好。Fresh, and the owner is lovely."),
    (4, "Good value, a short wait at the counter."),
    (5, "每周都来买，从来没失望过。"),
    (3, "还可以，就是有点贵。"),
    (5, "Exactly as described. Thank you!"),
]
# Pledges a demo buyer can invoke on any purchase (refund without return has a price limit).
DISPUTABLE = {pledges.RETURNS, pledges.FRESHNESS, pledges.COUNTERFEIT, pledges.DELIVERY}
_ids = itertools.count()


def _say(sender, conversation, body: str) -> None:
    chat.message_send(sender=sender, conversation_id=conversation.pk, body=body, client_msg_id=f"trust-{next(_ids)}")


def _sold(stall: Stall, buyer: Resident, *, seller: Resident | None = None, confirm: bool = True):
    """The buyer asks about the stall, the seller answers, marks the sale; the buyer confirms."""
    seller = seller or (stall.shop.owner if stall.shop_id else stall.seller)
    conversation = chat.conversation_open_for_stall(resident=buyer, stall=stall)
    _say(buyer, conversation, "我想要这个，今天可以来拿吗？ Can I pick it up today?")
    _say(seller, conversation, "可以的，随时来。Sure, any time.")
    deal = services.deal_mark(seller=seller, conversation_id=conversation.pk, stall=stall)
    if confirm:
        deal = services.deal_confirm(buyer=buyer, deal=deal)
    return deal


def seed(rng: random.Random, accounts: dict[str, Resident], shops: list[Shop]) -> None:
    # A copy of the demo's generator: what the apps seeded after this one draw stays as it was.
    rng, shared = random.Random(), rng
    rng.setstate(shared.getstate())
    group = moderators_group()
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="trust", codename__in=MODERATOR_PERMISSIONS)
    )
    moderator = Resident.objects.get(pk=accounts["moderator"].pk)  # fresh: permissions are cached
    resident, shopkeeper = accounts["resident"], accounts["shopkeeper"]
    neighbours = [r for key, r in sorted(accounts.items(), key=lambda kv: kv[0]) if key.startswith("neighbour")]

    # The demo neighbourhood has been around for a few months: its accounts are not brand new
    # (vouching needs an account of 14 days). No service sets when someone joined; this is history.
    for person in [resident, shopkeeper, moderator, *neighbours]:
        joined = timezone.now() - timedelta(days=rng.randint(60, 400))
        Resident.objects.filter(pk=person.pk).update(date_joined=joined)
        person.date_joined = joined

    # Verified by the moderator at the neighbourhood committee's open day: the two demo accounts and
    # every other neighbour; the rest wait for vouches or a letter.
    for person in [resident, shopkeeper, *neighbours[::2]]:
        services.residency_decide(
            moderator=moderator, resident=person, verify=True, reason="Met at the neighbourhood committee's open day"
        )
    for person in [resident, shopkeeper, *neighbours[:12]]:
        services.acquaintance_privacy_set(resident=person, share=True)

    # Vouches between neighbours who live next to each other (at most one each way, within limits).
    verified = [r for r in [resident, shopkeeper, *neighbours] if _fresh(r).is_verified_resident]
    vouched = 0
    for voucher in verified:
        for other in [resident, shopkeeper, *neighbours]:
            if vouched >= 12:
                break
            if other.pk == voucher.pk or not selectors.lives_next_to(voucher, other):
                continue
            if selectors.vouches_given_this_week(voucher=voucher) >= 2:
                break
            if selectors.vouch_active(voucher=voucher, vouchee=other) is None:
                services.vouch_give(voucher=_fresh(voucher), vouchee=_fresh(other))
                vouched += 1

    # Nodding acquaintances: neighbours who recognise each other from the lane.
    for a, b in zip(neighbours[:8:2], neighbours[1:8:2], strict=False):
        services.recognition_confirm(resident=a, other=b)
        services.recognition_confirm(resident=b, other=a)

    # Deals with shops: reviews, a reply, pledge claims in each state.
    shop_stalls = list(
        Stall.objects.filter(shop__in=shops, status=Stall.Status.OPEN, kind=Stall.Kind.SALE).select_related("shop")
    )
    buyers = [_fresh(r) for r in [resident, *neighbours[::2]] if _fresh(r).is_verified_resident]
    shop_deals = []
    for i, stall in enumerate(rng.sample(shop_stalls, k=min(8, len(shop_stalls)))):
        buyer = buyers[i % len(buyers)]
        if buyer.pk in selectors.shop_side_ids(stall.shop):
            continue
        deal = _sold(stall, buyer)
        stars, text = REVIEWS[i % len(REVIEWS)]
        review = services.review_write(author=buyer, deal=deal, stars=stars, text=text)
        if _fresh(stall.shop.owner).is_verified_resident:
            services.review_write(author=stall.shop.owner, deal=deal, stars=5, text="Paid on time, friendly.")
        if i % 3 == 0:
            services.review_reply(actor=stall.shop.owner, review=review, text="谢谢支持！Thank you, see you soon.")
        shop_deals.append(deal)

    # Pledge claims: one honoured by the shop, one rejected and disputed (in the moderators' queue).
    outcomes = iter(["honoured", "disputed"])
    for deal in shop_deals:
        kind = next((k for k in sorted(DISPUTABLE) if selectors.pledge_claimable(deal=deal, kind=k)), None)
        if kind is None:
            continue
        outcome = next(outcomes, None)
        if outcome is None:
            break
        owner = deal.shop.owner
        if outcome == "honoured":
            claim = services.claim_open(
                buyer=deal.buyer, deal=deal, kind=kind, text="One of them was bruised; I brought it back."
            )
            services.claim_answer(actor=owner, claim=claim, accept=True, reason="Refunded, sorry!")
        else:
            claim = services.claim_open(buyer=deal.buyer, deal=deal, kind=kind, text="Not what the pledge promises.")
            services.claim_answer(actor=owner, claim=claim, accept=False, reason="Bought a week ago.")
            services.claim_dispute(buyer=deal.buyer, claim=claim, text="It was three days ago, here is the receipt.")

    # The demo resident's own shop story: they bought from the shopkeeper and a neighbour.
    resident = _fresh(resident)
    keeper_stall = Stall.objects.filter(shop__owner=shopkeeper, status=Stall.Status.OPEN).order_by("pk").first()
    if keeper_stall is not None:
        deal = _sold(keeper_stall, resident)
        services.review_write(author=resident, deal=deal, stars=5, text="王姐家的水果最新鲜。")
    neighbour_stall = (
        Stall.objects.filter(shop__isnull=True, seller__in=neighbours, kind=Stall.Kind.SALE, status=Stall.Status.OPEN)
        .order_by("pk")
        .first()
    )
    if neighbour_stall is not None:
        _sold(neighbour_stall, resident, confirm=False)  # waiting for the demo resident to confirm

    # A letter waiting for the moderator to print.
    waiting = next((r for r in neighbours if not _fresh(r).is_verified_resident), None)
    if waiting is not None and selectors.letter_open(resident=waiting) is None:
        services.residency_letter_request(
            resident=waiting, postal_address="静安区愚园路 88 弄 3 号 302 室\n上海 200040"
        )


def _fresh(resident: Resident) -> Resident:
    return Resident.objects.get(pk=resident.pk)
