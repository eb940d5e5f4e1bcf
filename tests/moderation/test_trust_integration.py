"""Moderation and trust together: reviews in the queue, vouched-for reporters weighing more, and
trust's moderator work (residency decisions, letters, pledge-claim disputes) scoped to areas and
written to the audit log."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.moderation import areas, rules, services
from apps.moderation.models import AuditEntry, Case, Decision
from apps.shops import pledges
from apps.trust import services as trust
from apps.trust.models import PledgeClaim, Review, Vouch
from tests.accounts.factories import JINGAN
from tests.market.factories import make_shop, publish
from tests.moderation.factories import PUDONG, moderator, neighbour, report
from tests.trust.factories import deal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # chat's rate counters
    yield
    cache.clear()


def _grant(mod, *codenames):
    from django.contrib.auth.models import Permission

    for codename in codenames:
        mod.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="trust"))
    return type(mod).objects.get(pk=mod.pk)


@pytest.fixture
def shop():
    return make_shop(owner=neighbour(), at=JINGAN, name="Wang's Fruit", pledges=[pledges.RETURNS])


@pytest.fixture
def review(shop):
    buyer = neighbour(display_name="Angry Buyer")
    stall = publish(shop=shop, title="Lychees", price="18.00")
    made = deal(stall, buyer)
    return trust.review_write(author=buyer, deal=made, stars=1, text="Rotten! The owner is a thief and a liar.")


# --- Reviews -----------------------------------------------------------------------------------------


def test_a_review_reported_enough_is_hidden_and_leaves_the_reputation(shop, review):
    shop.refresh_from_db()
    before = shop.reputation
    with pytest.raises(services.targets.NotReportable):
        report(review, by=review.author)
    for _ in range(3):
        report(review, reason="harassment")
    review.refresh_from_db()
    assert review.hidden_at is not None
    from apps.trust.selectors import reviews_public_of_shop

    assert review.pk not in [r.pk for r in reviews_public_of_shop(shop=shop)]
    shop.refresh_from_db()
    assert shop.reputation > before  # the one-star review no longer counts
    case = Case.objects.get()
    assert case.kind == "review" and case.subject == review.author and case.shop is None
    services.case_decide(case=case, moderator=moderator(), action="dismiss", reason="Harsh but honest")
    review.refresh_from_db()
    assert review.hidden_at is None


def test_a_private_review_can_be_reported_only_by_the_buyer_it_is_about(shop):
    buyer = neighbour()
    made = deal(publish(shop=shop, title="Pears", price="9.00"), buyer)
    private = trust.review_write(author=shop.owner, deal=made, stars=1, text="Haggled forever.")
    assert private.direction == Review.Direction.OF_BUYER
    with pytest.raises(services.NotAllowed):
        report(private, by=neighbour())
    report(private, by=buyer, reason="harassment")
    assert Case.objects.get().kind == "review"


# --- Vouched-for reporters -------------------------------------------------------------------------------


def test_a_vouched_for_reporter_weighs_more():
    vouched, plain = neighbour(), neighbour()
    Vouch.objects.create(voucher=neighbour(), vouchee=vouched)
    first = report(publish(), by=vouched)
    second = report(publish(), by=plain)
    assert first.weight == rules.TRUSTED_FACTOR and second.weight == 1.0
    # Two vouched-for neighbours and one more reach the threshold where plain ones need three.
    stall = publish()
    report(stall, by=vouched)
    other = neighbour()
    Vouch.objects.create(voucher=neighbour(), vouchee=other)
    report(stall, by=other)
    stall.refresh_from_db()
    assert stall.status == "hidden"


# --- Trust's moderator work, scoped and audited ------------------------------------------------------------


def test_residency_decisions_respect_areas_and_land_in_the_audit_log():
    here = _grant(moderator(at=JINGAN), "decide_residency")
    there = _grant(moderator(at=PUDONG), "decide_residency")
    resident = neighbour(verified=False)
    with pytest.raises(areas.OutsideArea):
        trust.residency_decide(moderator=there, resident=resident, verify=True, reason="Saw a utility bill")
    resident.refresh_from_db()
    assert not resident.is_verified_resident
    trust.residency_decide(moderator=here, resident=resident, verify=True, reason="Saw a utility bill")
    entry = AuditEntry.objects.get(action="residency.verify")
    assert entry.actor == here and entry.reason == "Saw a utility bill" and entry.after == {"verified": True}


def test_letters_are_printed_only_for_residents_of_ones_areas():
    here = _grant(moderator(at=JINGAN), "print_letters")
    there = _grant(moderator(at=PUDONG), "print_letters")
    letter = trust.residency_letter_request(resident=neighbour(verified=False), postal_address="1 Yuyuan Road")
    with pytest.raises(areas.OutsideArea):
        trust.residency_letters_print(moderator=there, letter_ids=[letter.pk])
    trust.residency_letters_print(moderator=here, letter_ids=[letter.pk])
    assert AuditEntry.objects.filter(action="residency.letter_print", actor=here).count() == 1


def _escalated_claim(shop):
    buyer = neighbour()
    made = deal(publish(shop=shop, title="Mangoes", price="30.00"), buyer)
    claim = trust.claim_open(buyer=buyer, deal=made, kind=pledges.RETURNS, text="Mouldy inside")
    claim = trust.claim_answer(actor=shop.owner, claim=claim, accept=False, reason="They were fine when sold")
    return trust.claim_dispute(buyer=buyer, claim=claim, text="Photos attached, they were mouldy")


def test_pledge_claim_disputes_in_the_moderators_admin_scoped_and_sanctionable(client, shop):
    claim = _escalated_claim(shop)
    assert claim.status == PledgeClaim.Status.ESCALATED
    here = _grant(moderator(at=JINGAN), "resolve_claim")
    there = _grant(moderator(at=PUDONG), "resolve_claim")
    url = reverse("admin:trust_pledgeclaim_changelist")

    client.force_login(there)
    assert "Mouldy inside" not in client.get(url, {"q": "Mouldy"}).content.decode()
    assert client.get(reverse("admin:trust_pledgeclaim_change", args=[claim.pk])).status_code == 302
    with pytest.raises(areas.OutsideArea):
        trust.claim_resolve(moderator=there, claim=claim, upheld=True, reason="Mould in the photos")
    assert (
        'data-testid="claims-escalated">Pledge-claim disputes waiting for a moderator: 0'
        in client.get(reverse("admin:moderation_dashboard")).content.decode()
    )

    client.force_login(here)
    assert (
        'data-testid="claims-escalated">Pledge-claim disputes waiting for a moderator: 1'
        in client.get(reverse("admin:moderation_dashboard")).content.decode()
    )
    client.post(
        url, {"action": "uphold", "_selected_action": [claim.pk], "apply": "1", "reason": "Mould in the photos"}
    )
    claim.refresh_from_db()
    assert claim.status == PledgeClaim.Status.UPHELD
    assert AuditEntry.objects.get(action="claim.uphold").actor == here

    # Then penalty points for the shop, from its own admin page.
    shops = reverse("admin:shops_shop_changelist")
    client.post(
        shops,
        {
            "action": "moderation_points",
            "_selected_action": [shop.pk],
            "apply": "1",
            "tier": "1",
            "reason": "Broke its returns pledge",
        },
    )
    decision = Decision.objects.get(action="points")
    assert decision.shop == shop and decision.points == 3 and decision.case is None
    client.force_login(there)
    client.post(
        shops,
        {"action": "moderation_points", "_selected_action": [shop.pk], "apply": "1", "tier": "3", "reason": "Far"},
    )
    assert Decision.objects.filter(action="points").count() == 1


def test_residents_admin_suspends_and_bans_within_the_area(client):
    person, far = neighbour(), neighbour(home=PUDONG)
    here = moderator(at=JINGAN)
    client.force_login(here)
    url = reverse("admin:accounts_resident_changelist")
    client.post(
        url,
        {
            "action": "moderation_suspend",
            "_selected_action": [person.pk, far.pk],
            "apply": "1",
            "days": "3",
            "reason": "Spam in the room",
        },
    )
    person.refresh_from_db()
    far.refresh_from_db()
    assert person.is_suspended and not far.is_suspended
    client.post(url, {"action": "moderation_ban", "_selected_action": [person.pk], "apply": "1", "reason": "Threats"})
    person.refresh_from_db()
    assert not person.is_active
    assert [e.action for e in AuditEntry.objects.order_by("created_at", "pk")] == ["resident.suspend", "resident.ban"]


def test_reviews_carry_a_report_link_on_the_shop_page(client, shop, review):
    client.force_login(neighbour())
    page = client.get(reverse("shops:detail", args=[shop.pk])).content.decode()
    assert reverse("moderation:report", args=["review", review.pk]) in page
    client.force_login(review.author)
    page = client.get(reverse("shops:detail", args=[shop.pk])).content.decode()
    assert 'data-testid="report-review"' not in page
