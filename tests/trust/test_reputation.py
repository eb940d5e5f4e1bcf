"""The shop reputation formula (docs/trust.md) and the integrity rules: farming does not work."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Resident
from apps.trust import rules, selectors, services
from apps.trust.models import Deal
from tests.market.factories import make_shop, publish
from tests.trust.factories import deal, moderator, neighbour

pytestmark = pytest.mark.django_db


def score(shop) -> float:
    shop.refresh_from_db()
    return shop.reputation


def test_a_new_shop_is_neutral_and_the_why_lines_add_up(shop):
    r = selectors.reputation_explain(shop=shop)
    assert r.score == rules.REPUTATION_NEUTRAL == score(shop)
    assert r.rating == rules.RATING_PRIOR
    assert [line.key for line in r.lines] == ["rating", "deals", "repeat", "pledges"]
    assert all(line.points == 0 for line in r.lines)


def test_one_five_star_review_cannot_make_a_new_shop_look_perfect(shop, shop_stall, buyer):
    made = deal(shop_stall, buyer)
    services.review_write(author=buyer, deal=made, stars=5)
    r = selectors.reputation_explain(shop=shop)
    # (5 × 3.5 + 5) / 6 = 3.75 stars, not 5.
    assert r.rating == pytest.approx(3.75)
    assert r.raw_rating == 5
    assert r.reviewers == 1
    assert r.score == pytest.approx(50 + 10 * 0.25 + 10 * 0.1495, abs=0.1)
    assert sum(line.points for line in r.lines) == pytest.approx(r.score - 50, abs=0.2)
    assert score(shop) == r.score
    # What pages show without reading the history is the same, line for line.
    assert selectors.reputation_stored(shop=shop) == r


def test_repeat_customers_count_on_different_days_within_90_days(shop, shop_stall, buyer):
    first = deal(shop_stall, buyer)
    deal(shop_stall, buyer)  # same day: not a return visit
    r = selectors.reputation_explain(shop=shop)
    assert (r.customers_90d, r.repeaters_90d) == (1, 0)
    Deal.objects.filter(pk=first.pk).update(answered_at=timezone.now() - timedelta(days=3))
    r = selectors.reputation_explain(shop=shop)
    assert (r.customers_90d, r.repeaters_90d, r.repeat_rate) == (1, 1, 1.0)
    repeat_line = next(line for line in r.lines if line.key == "repeat")
    # Smoothed: one loyal customer is 1 / (1 + 5) of the way, not 100 %.
    assert repeat_line.points == pytest.approx(rules.REPEAT_POINTS_MAX / 6, abs=0.1)
    Deal.objects.filter(pk=first.pk).update(answered_at=timezone.now() - timedelta(days=91))
    r = selectors.reputation_explain(shop=shop)
    assert r.repeaters_90d == 0


def test_penalty_points_from_moderation_lower_the_score_at_once(shop):
    from apps.moderation import services as moderation
    from apps.moderation.models import Decision

    decision = moderation.shop_penalize(shop=shop, moderator=moderator(), tier=1, reason="Misleading photos")
    assert score(shop) == rules.REPUTATION_NEUTRAL - 3 * rules.PENALTY_POINTS_EACH
    r = selectors.reputation_stored(shop=shop)
    assert r.lines[-1].key == "sanctions" and r.lines[-1].points == -15
    assert r == selectors.reputation_explain(shop=shop)
    # Points leave moderation's counting window with time: the daily recompute follows.
    Decision.objects.filter(pk=decision.pk).update(created_at=timezone.now() - timedelta(days=400))
    services.reputations_recompute_all()
    assert score(shop) == rules.REPUTATION_NEUTRAL


def test_the_daily_recompute_covers_every_shop(shop):
    other = make_shop(name="Other")
    from apps.shops.models import Shop

    Shop.objects.update(reputation=0)
    assert services.reputations_recompute_all() == 2
    assert score(shop) == score(other) == rules.REPUTATION_NEUTRAL


# --- Integrity: rating farming does not work ------------------------------------------------------------


def test_many_deals_between_the_same_two_accounts_in_a_day_count_once(shop, shop_stall, buyer):
    for _ in range(8):
        made = deal(shop_stall, buyer)
        services.review_write(author=buyer, deal=made, stars=5)
    r = selectors.reputation_explain(shop=shop)
    assert Deal.objects.filter(shop=shop, status="confirmed").count() == 8
    assert r.deals_counted == rules.DEALS_COUNTED_PER_PAIR_PER_DAY == 1
    # Eight five-star reviews from one buyer are one voice.
    assert r.reviewers == 1
    assert r.rating == pytest.approx(3.75)


def test_a_farming_friend_moves_the_score_less_than_honest_strangers(shop_stall, buyer):
    farmed = shop_stall.shop
    for _ in range(10):
        services.review_write(author=buyer, deal=deal(shop_stall, buyer), stars=5)
    honest = make_shop(owner=neighbour(verified=True), name="Honest grocer")
    stall = publish(shop=honest, title="Tofu", price="4.50")
    for _ in range(4):
        customer = neighbour(verified=True)
        services.review_write(author=customer, deal=deal(stall, customer), stars=5)
    assert score(honest) > score(farmed)


def test_a_banned_buyers_reviews_and_deals_stop_counting(shop, shop_stall, buyer):
    services.review_write(author=buyer, deal=deal(shop_stall, buyer), stars=5)
    assert score(shop) > rules.REPUTATION_NEUTRAL
    Resident.objects.filter(pk=buyer.pk).update(is_active=False)
    buyer.refresh_from_db()
    services.trust_account_banned(resident=buyer)
    assert score(shop) == rules.REPUTATION_NEUTRAL


def test_reviews_without_a_deal_do_not_exist(shop_stall, buyer):
    # There is no way to write one: every review hangs on a deal, and only a confirmed one.
    from apps.trust.errors import ReviewRefused

    pending = deal(shop_stall, buyer, confirm=False)
    with pytest.raises(ReviewRefused):
        services.review_write(author=buyer, deal=pending, stars=5)
    assert selectors.reputation_explain(shop=shop_stall.shop).reviewers == 0


def test_a_shops_live_stalls_carry_its_reputation_for_the_feed(shop, shop_stall, buyer):
    """The feed ranks by `Stall.shop_trust`, the reputation kept on the shop's live stalls: every
    recompute moves them, and stalls that come back (renewed, restored) take it as it is then."""
    from apps.market import services as market
    from apps.market.models import Stall
    from apps.moderation import services as moderation

    def trust(stall) -> float:
        return Stall.objects.values_list("shop_trust", flat=True).get(pk=stall.pk)

    assert trust(shop_stall) == 0.0
    services.review_write(author=buyer, deal=deal(shop_stall, buyer), stars=5)
    assert trust(shop_stall) == pytest.approx(score(shop) - rules.REPUTATION_NEUTRAL) and trust(shop_stall) > 0
    expired = publish(shop=shop, title="Expired before the sanction")
    Stall.objects.filter(pk=expired.pk).update(status=Stall.Status.EXPIRED)
    hidden = market.stalls_hide_live(shop=shop)  # shop_stall among them
    moderation.shop_penalize(shop=shop, moderator=moderator(), tier=1, reason="Misleading photos")
    now = score(shop) - rules.REPUTATION_NEUTRAL
    assert now < 0 and trust(expired) > 0 and trust(shop_stall) > 0  # not live: left alone
    market.stall_renew(stall=Stall.objects.get(pk=expired.pk), actor=shop.owner)
    market.stalls_restore(hidden=hidden)
    assert trust(expired) == pytest.approx(now) and trust(shop_stall) == pytest.approx(now)
    assert trust(publish(shop=shop, title="New")) == pytest.approx(now)
    assert trust(publish(neighbour(), title="A neighbour's")) == 0.0


def test_stalls_of_before_the_kept_reputation_get_it_by_migration(shop, shop_stall, buyer):
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection
    from django.utils.module_loading import import_string

    from apps.market.models import Stall

    services.review_write(author=buyer, deal=deal(shop_stall, buyer), stars=5)
    resident_stall = publish(neighbour())
    Stall.objects.update(shop_trust=0.0)
    copy = import_string("apps.market.migrations.0007_stall_shop_trust.copy_reputations")
    copy(apps, SimpleNamespace(connection=connection))
    assert Stall.objects.get(pk=shop_stall.pk).shop_trust == pytest.approx(score(shop) - rules.REPUTATION_NEUTRAL)
    assert Stall.objects.get(pk=resident_stall.pk).shop_trust == 0.0
