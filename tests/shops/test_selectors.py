import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from apps.nearby import geo
from apps.shops import pledges, selectors, services
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

T = dt.time
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC

# A Monday far enough ahead that exceptions on it are in the future.
MONDAY = timezone.now().date() + dt.timedelta(days=7 - timezone.now().weekday() + 7)


def at(day: dt.date, hh: int, mm: int, tz) -> dt.datetime:
    return dt.datetime.combine(day, T(hh, mm), tzinfo=tz)


@pytest.fixture
def bakery():
    shop = ShopFactory(time_zone="Asia/Shanghai")
    services.shop_hours_set(
        shop=shop,
        by=shop.owner,
        spans=[(0, T(7), T(11, 30)), (0, T(16), T(19)), (1, T(7), T(19)), (6, T(20), T(23, 59))],
    )
    return shop


@pytest.mark.parametrize(
    ("hh", "mm", "is_open"),
    [(6, 59, False), (7, 0, True), (11, 29, True), (11, 30, False), (15, 0, False), (16, 0, True), (19, 0, False)],
)
def test_open_now_follows_the_weekly_spans_on_the_shops_clock(bakery, hh, mm, is_open):
    assert selectors.shop_open_now(bakery, at(MONDAY, hh, mm, SHANGHAI)) is is_open


def test_open_now_is_judged_in_the_shops_time_zone_not_the_viewers(bakery):
    # 08:00 Monday in Shanghai is 00:00 UTC Monday and 20:00 Sunday in New York: the shop is open.
    moment = at(MONDAY, 0, 0, UTC)
    assert selectors.shop_open_now(bakery, moment)
    assert selectors.shop_open_now(bakery, moment.astimezone(NEW_YORK))
    # 19:30 Monday in New York is 07:30 Tuesday in Shanghai: open on Tuesday's hours.
    assert selectors.shop_open_now(bakery, at(MONDAY, 19, 30, NEW_YORK))
    # 12:00 Monday UTC is 20:00 Monday in Shanghai: closed (Monday ends at 19:00).
    assert not selectors.shop_open_now(bakery, at(MONDAY, 12, 0, UTC))


def test_the_same_hours_in_another_zone_give_another_answer(bakery):
    ny = ShopFactory(time_zone="America/New_York")
    services.shop_hours_set(shop=ny, by=ny.owner, spans=[(0, T(7), T(11, 30))])
    moment = at(MONDAY, 8, 0, SHANGHAI)  # Sunday 19:00 / 20:00 in New York
    assert selectors.shop_open_now(bakery, moment)
    assert not selectors.shop_open_now(ny, moment)
    assert selectors.shop_open_now(ny, at(MONDAY, 8, 0, NEW_YORK))


def test_a_span_ending_at_2359_runs_to_midnight(bakery):
    sunday = MONDAY - dt.timedelta(days=1)
    assert selectors.shop_open_now(bakery, at(sunday, 23, 59, SHANGHAI) + dt.timedelta(seconds=30))
    assert not selectors.shop_open_now(bakery, at(MONDAY, 0, 0, SHANGHAI))


def test_exceptions_win_over_the_weekly_hours(bakery):
    services.shop_exception_set(shop=bakery, by=bakery.owner, date=MONDAY, closed=True, note="Holiday")
    state = selectors.shop_open_state(bakery, at(MONDAY, 9, 0, SHANGHAI))
    assert not state.is_open and state.exception.note == "Holiday" and state.spans_today == []
    tuesday = MONDAY + dt.timedelta(days=1)
    services.shop_exception_set(shop=bakery, by=bakery.owner, date=tuesday, closed=False, opens=T(12), closes=T(14))
    assert not selectors.shop_open_now(bakery, at(tuesday, 9, 0, SHANGHAI))  # usually open then
    assert selectors.shop_open_now(bakery, at(tuesday, 13, 0, SHANGHAI))
    # The exception is for the shop's date: 05:00 UTC Tuesday is 13:00 Tuesday in Shanghai.
    assert selectors.shop_open_now(bakery, at(tuesday, 5, 0, UTC))
    wednesday = MONDAY + dt.timedelta(days=2)
    assert not selectors.shop_open_now(bakery, at(wednesday, 9, 0, SHANGHAI))  # no hours on Wednesdays


def test_exception_on_a_day_without_weekly_hours_opens_the_shop(bakery):
    services.shop_exception_set(
        shop=bakery, by=bakery.owner, date=MONDAY + dt.timedelta(days=3), closed=False, opens=T(9), closes=T(10)
    )
    assert selectors.shop_open_now(bakery, at(MONDAY + dt.timedelta(days=3), 9, 30, SHANGHAI))


def test_open_state_tells_when_it_closes_or_opens_next(bakery):
    s = selectors.shop_open_state(bakery, at(MONDAY, 10, 0, SHANGHAI))
    assert s.is_open and s.closes_at == T(11, 30)
    s = selectors.shop_open_state(bakery, at(MONDAY, 12, 0, SHANGHAI))
    assert not s.is_open and s.opens_at == T(16)
    s = selectors.shop_open_state(bakery, at(MONDAY, 20, 0, SHANGHAI))
    assert not s.is_open and s.opens_at is None


def test_prefetched_exceptions_give_the_same_answer_without_queries(bakery, django_assert_num_queries):
    today = services.shop_today(bakery)
    services.shop_exception_set(shop=bakery, by=bakery.owner, date=today, closed=True)
    shop = selectors.shop_detail(pk=bakery.pk)
    with django_assert_num_queries(0):
        state = selectors.shop_open_state(shop)
        week = selectors.shop_week(shop)
        coming = selectors.shop_exceptions_coming(shop)
    assert not state.is_open and state.exception is not None
    assert [len(spans) for _day, spans in week] == [2, 1, 0, 0, 0, 0, 1]
    assert [e.date for e in coming] == [today]


def test_shops_nearby_are_ordered_by_exact_distance():
    near = ShopFactory(lat=JINGAN.lat + 0.001, lng=JINGAN.lng)
    nearer = ShopFactory(lat=JINGAN.lat, lng=JINGAN.lng + 0.0005)
    ShopFactory(lat=JINGAN.lat + 0.05, lng=JINGAN.lng)  # ~5.5 km away
    bakery = ShopFactory(lat=JINGAN.lat - 0.002, lng=JINGAN.lng, category="bakery")
    found = list(selectors.shops_nearby(origin=JINGAN, radius_m=1000))
    assert found == [nearer, near, bakery]
    assert found[0].distance_m == pytest.approx(geo.distance_m(JINGAN, nearer.point), abs=1)
    assert list(selectors.shops_nearby(origin=JINGAN, radius_m=1000, category="bakery")) == [bakery]
    page = selectors.shops_nearby_page(origin=JINGAN, radius_m=1000, limit=2)
    assert page.items == [nearer, near] and page.next_cursor
    rest = selectors.shops_nearby_page(origin=JINGAN, radius_m=1000, limit=2, cursor=page.next_cursor)
    assert rest.items == [bakery] and rest.next_cursor is None


def test_suspended_shops_are_not_listed():
    shop = ShopFactory()
    type(shop).objects.filter(pk=shop.pk).update(suspended_until=timezone.now() + dt.timedelta(days=1))
    assert not selectors.shops_nearby(origin=JINGAN, radius_m=500).exists()


def test_detail_counts_followers_and_knows_the_viewer():
    shop = ShopFactory()
    fans = [ResidentFactory() for _ in range(3)]
    for fan in fans:
        services.shop_follow(shop=shop, resident=fan)
    services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS)
    services.pledge_take(shop=shop, by=shop.owner, kind=pledges.FRESHNESS)
    detail = selectors.shop_detail(pk=shop.pk, viewer=fans[0])
    assert detail.followers_count == 3 and detail.viewer_follows
    assert not selectors.shop_detail(pk=shop.pk, viewer=ResidentFactory()).viewer_follows
    assert selectors.shop_detail(pk=shop.pk).viewer_follows is False
    assert [b.kind for b in selectors.pledge_badges(shop=detail)] == [pledges.RETURNS, pledges.FRESHNESS]
    assert set(selectors.shop_followers(shop=shop)) == set(fans)


def test_badges_describe_the_terms_and_skip_withdrawn_pledges():
    shop = ShopFactory()
    services.pledge_take(shop=shop, by=shop.owner, kind=pledges.COUNTERFEIT, terms={"multiple": 5})
    p = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.DELIVERY)
    services.pledge_withdraw(pledge=p, by=shop.owner)
    (badge,) = selectors.pledge_badges(shop=shop)
    assert badge.kind == pledges.COUNTERFEIT and "5 times" in badge.description and badge.terms == {"multiple": 5}


def test_pledge_in_force_finds_the_terms_a_buyer_relied_on():
    shop = ShopFactory()
    old = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS, terms={"days": 7})
    bought = timezone.now()
    new = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS, terms={"days": 3})
    assert selectors.pledge_in_force(shop=shop, kind=pledges.RETURNS, at=bought) == old
    assert selectors.pledge_in_force(shop=shop, kind=pledges.RETURNS, at=timezone.now()) == new
    services.pledge_withdraw(pledge=new, by=shop.owner)
    assert selectors.pledge_in_force(shop=shop, kind=pledges.RETURNS, at=timezone.now()) is None
    assert selectors.pledge_in_force(shop=shop, kind=pledges.RETURNS, at=bought - dt.timedelta(days=1)) is None


def test_shops_of_a_resident_are_owned_or_staffed():
    me = ResidentFactory()
    mine = ShopFactory(owner=me, name="B mine")
    theirs = ShopFactory(name="A theirs")
    services.shop_staff_add(shop=theirs, by=theirs.owner, resident=me)
    ShopFactory()
    assert list(selectors.shops_of_resident(resident=me)) == [theirs, mine]
    assert selectors.shop_can_sell(shop=theirs, resident=me)
    assert not selectors.shop_is_owner(shop=theirs, resident=me)


def test_badges_for_many_shops_cost_one_query(django_assert_num_queries):
    for _ in range(4):
        shop = ShopFactory()
        services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS)
    shops = type(shop).objects.prefetch_related(selectors.active_pledges_prefetch())
    with django_assert_num_queries(2):
        assert [len(selectors.pledge_badges(shop=s)) for s in shops] == [1, 1, 1, 1]
