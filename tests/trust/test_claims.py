"""Pledge claims: invoked within the window of a pledge in force at the deal, answered, escalated."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import NotAllowed
from apps.notifications.models import Notification
from apps.shops import pledges
from apps.shops import services as shop_services
from apps.shops.models import ShopPledge
from apps.trust import selectors, services, tasks
from apps.trust.errors import (
    ClaimRefused,
    ClaimState,
    ClaimWindowClosed,
    PledgeNotOffered,
    ReasonRequired,
)
from apps.trust.models import Deal, PledgeClaim
from tests.market.factories import publish
from tests.trust.factories import deal, moderator, neighbour

pytestmark = pytest.mark.django_db


def aged(made: Deal, **delta) -> Deal:
    """The deal happened `delta` ago (and the shop's pledges were there long before)."""
    ShopPledge.objects.filter(shop_id=made.shop_id).update(created_at=timezone.now() - timedelta(days=365))
    Deal.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(**delta))
    made.refresh_from_db()
    return made


def test_a_buyer_invokes_a_pledge_and_the_shop_honours_it(shop, shop_stall, buyer, seller):
    made = deal(shop_stall, buyer)
    claim = services.claim_open(buyer=buyer, deal=made, kind=pledges.RETURNS, text="They were sour")
    assert (claim.status, claim.shop, claim.pledge.kind) == ("open", shop, "returns")
    assert Notification.objects.filter(recipient=seller, kind="pledge_claim").count() == 1
    with pytest.raises(ClaimState):
        services.claim_open(buyer=buyer, deal=made, kind=pledges.RETURNS, text="Again")
    with pytest.raises(NotAllowed):
        services.claim_answer(actor=buyer, claim=claim, accept=True)
    services.claim_answer(actor=seller, claim=claim, accept=True)
    claim.refresh_from_db()
    assert claim.status == "accepted"
    assert selectors.claims_counts(shop=shop) == (1, 0)
    with pytest.raises(ClaimState):
        services.claim_answer(actor=seller, claim=claim, accept=False, reason="Oops")


def test_a_pledge_the_shop_did_not_offer_is_refused(shop_stall, buyer):
    made = deal(shop_stall, buyer)
    with pytest.raises(PledgeNotOffered, match="did not offer"):
        services.claim_open(buyer=buyer, deal=made, kind=pledges.COUNTERFEIT, text="Fake")
    with pytest.raises(PledgeNotOffered):
        services.claim_open(buyer=buyer, deal=made, kind="lifetime_warranty", text="?")
    assert not PledgeClaim.objects.exists()


def test_the_pledge_in_force_at_the_deal_counts_not_todays(shop, shop_stall, buyer, seller):
    made = deal(shop_stall, buyer)
    # Withdrawn after the sale: the buyer relied on it, it still holds for this deal.
    shop_services.pledge_withdraw(pledge=shop.pledges.get(kind=pledges.RETURNS, is_active=True), by=seller)
    services.claim_open(buyer=buyer, deal=made, kind=pledges.RETURNS, text="Sour")
    # Taken after the sale: it did not hold when they bought.
    shop_services.pledge_take(shop=shop, by=seller, kind=pledges.FRESHNESS, terms={})
    with pytest.raises(PledgeNotOffered):
        services.claim_open(buyer=buyer, deal=made, kind=pledges.FRESHNESS, text="Not fresh")


def test_a_claim_after_the_window_is_refused(shop_stall, buyer):
    made = aged(deal(shop_stall, buyer), days=8)  # returns within 7 days
    with pytest.raises(ClaimWindowClosed, match="closed on"):
        services.claim_open(buyer=buyer, deal=made, kind=pledges.RETURNS, text="Late")
    assert not PledgeClaim.objects.exists()
    assert not selectors.pledge_claimable(deal=made, kind=pledges.RETURNS)


def test_refund_without_return_covers_only_small_amounts(shop, seller, buyer):
    cheap = publish(shop=shop, title="Bok choy", price="3.50")
    dear = publish(shop=shop, title="Durian", price="120")
    services.claim_open(buyer=buyer, deal=deal(cheap, buyer), kind=pledges.REFUND_NO_RETURN, text="Wilted")
    with pytest.raises(PledgeNotOffered, match="under"):
        services.claim_open(buyer=buyer, deal=deal(dear, buyer), kind=pledges.REFUND_NO_RETURN, text="Smelly")


def test_claims_only_on_confirmed_deals_with_shops_by_their_buyer(own_stall, shop_stall, buyer, seller):
    waiting = deal(shop_stall, buyer, confirm=False)
    with pytest.raises(ClaimRefused, match="Confirm"):
        services.claim_open(buyer=buyer, deal=waiting, kind=pledges.RETURNS, text="x")
    services.deal_confirm(buyer=buyer, deal=waiting)
    with pytest.raises(NotAllowed):
        services.claim_open(buyer=neighbour(), deal=waiting, kind=pledges.RETURNS, text="x")
    with pytest.raises(ReasonRequired):
        services.claim_open(buyer=buyer, deal=waiting, kind=pledges.RETURNS, text="  ")
    neighbours_deal = deal(own_stall, buyer)
    with pytest.raises(ClaimRefused, match="neighbour"):
        services.claim_open(buyer=buyer, deal=neighbours_deal, kind=pledges.RETURNS, text="x")
    assert not PledgeClaim.objects.exists()


def test_rejected_and_disputed_goes_to_the_moderators(shop, shop_stall, buyer, seller):
    claim = services.claim_open(buyer=buyer, deal=deal(shop_stall, buyer), kind=pledges.RETURNS, text="Sour")
    with pytest.raises(ReasonRequired):
        services.claim_answer(actor=seller, claim=claim, accept=False, reason="")
    services.claim_answer(actor=seller, claim=claim, accept=False, reason="Half of them were eaten")
    with pytest.raises(NotAllowed):
        services.claim_dispute(buyer=seller, claim=claim, text="?")
    services.claim_dispute(buyer=buyer, claim=claim, text="I returned a full jin")
    claim.refresh_from_db()
    assert (claim.status, claim.escalation) == ("escalated", "disputed")
    assert list(selectors.claims_escalated()) == [claim]

    mod = moderator()
    with pytest.raises(ReasonRequired):
        services.claim_resolve(moderator=mod, claim=claim, upheld=True, reason="")
    with pytest.raises(NotAllowed):
        services.claim_resolve(moderator=buyer, claim=claim, upheld=True, reason="I say so")
    before = shop.reputation
    services.claim_resolve(moderator=mod, claim=claim, upheld=True, reason="Photos show a full jin")
    claim.refresh_from_db()
    assert claim.status == "upheld"
    assert selectors.claims_counts(shop=shop) == (0, 1)
    shop.refresh_from_db()
    assert shop.reputation < before
    # A second moderator acting on the same claim is told it is decided.
    with pytest.raises(ClaimState):
        services.claim_resolve(moderator=moderator(), claim=claim, upheld=False, reason="No")


def test_disputes_only_within_a_week_of_the_rejection(shop_stall, buyer, seller):
    claim = services.claim_open(buyer=buyer, deal=deal(shop_stall, buyer), kind=pledges.RETURNS, text="Sour")
    with pytest.raises(ClaimState):
        services.claim_dispute(buyer=buyer, claim=claim, text="Too early")
    services.claim_answer(actor=seller, claim=claim, accept=False, reason="No receipt")
    PledgeClaim.objects.filter(pk=claim.pk).update(answered_at=timezone.now() - timedelta(days=8))
    with pytest.raises(ClaimWindowClosed):
        services.claim_dispute(buyer=buyer, claim=claim, text="Late")
    claim.refresh_from_db()
    assert claim.status == "rejected"


def test_unanswered_claims_escalate_after_three_days_through_the_periodic_task(shop_stall, buyer):
    claim = services.claim_open(buyer=buyer, deal=deal(shop_stall, buyer), kind=pledges.RETURNS, text="Sour")
    assert tasks.claims_escalate_overdue.delay().get() == 0
    PledgeClaim.objects.filter(pk=claim.pk).update(created_at=timezone.now() - timedelta(days=3, minutes=1))
    assert tasks.claims_escalate_overdue.delay().get() == 1
    assert tasks.claims_escalate_overdue.delay().get() == 0  # idempotent
    claim.refresh_from_db()
    assert (claim.status, claim.escalation) == ("escalated", "unanswered")
    assert claim.escalated_at is not None
    services.claim_resolve(moderator=moderator(), claim=claim, upheld=False, reason="The shop was closed for a holiday")
    claim.refresh_from_db()
    assert claim.status == "dismissed"


def test_the_beat_schedule_runs_the_trust_tasks(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "apps.trust.tasks.claims_escalate_overdue",
        "apps.trust.tasks.residency_letters_expire",
        "apps.trust.tasks.reputations_recompute",
    } <= tasks_scheduled
