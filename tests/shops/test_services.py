import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.utils import timezone

from apps.core.errors import DomainError, NotAllowed
from apps.core.images import InvalidImage
from apps.market.models import Stall
from apps.nearby import geo
from apps.shops import pledges, services
from apps.shops.models import OpeningException, OpeningHours, Shop, ShopFollow, ShopPhoto, ShopPledge
from tests.accounts.factories import ResidentFactory
from tests.shops.factories import ShopFactory, image_upload, make_moderator

pytestmark = pytest.mark.django_db

T = dt.time


def test_register_places_the_shop_exactly_and_unverified():
    owner = ResidentFactory()
    shop = services.shop_register(
        owner=owner,
        name="  静安面包房  ",
        category="bakery",
        lat=31.22351234,
        lng=121.44601234,
        time_zone="Asia/Shanghai",
        photos=[image_upload()],
    )
    assert shop.name == "静安面包房"
    assert (shop.lat, shop.lng) == (31.22351234, 121.44601234)  # exact: shops are public places
    assert shop.cell_r9 == geo.cell_of(31.22351234, 121.44601234, 9)
    assert not shop.is_verified and shop.verified_at is None
    assert shop.photos.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "weapons"}, "category"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"phone": "1" * 31}, "phone"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"lat": 91.0}, "location"),
        ({"lng": float("nan")}, "location"),
        ({"lng": "east"}, "location"),
    ],
)
def test_register_refuses_bad_input_and_saves_nothing(changes, field):
    args = {"owner": ResidentFactory(), "name": "Shop", "category": "groceries", "lat": 31.2, "lng": 121.4}
    with pytest.raises(DomainError) as err:
        services.shop_register(**{**args, **changes})
    assert err.value.field == field
    assert Shop.objects.count() == 0


def test_register_with_a_fake_photo_leaves_no_shop_behind():
    with pytest.raises(InvalidImage):
        services.shop_register(
            owner=ResidentFactory(),
            name="Shop",
            category="groceries",
            lat=31.2,
            lng=121.4,
            photos=[SimpleUploadedFile("x.jpg", b"<?php echo 1; ?>" * 20, content_type="image/jpeg")],
        )
    assert Shop.objects.count() == 0


def test_a_resident_may_register_only_so_many_shops(monkeypatch):
    monkeypatch.setattr(services, "MAX_SHOPS_PER_OWNER", 2)
    owner = ResidentFactory()
    ShopFactory(owner=owner)
    ShopFactory(owner=owner)
    with pytest.raises(services.TooManyShops):
        ShopFactory(owner=owner)


def test_only_the_owner_updates_and_moving_keeps_cells_in_step():
    shop = ShopFactory()
    with pytest.raises(NotAllowed):
        services.shop_update(shop=shop, by=ResidentFactory(), name="Mine now")
    services.shop_update(shop=shop, by=shop.owner, name="New name", lat=31.23, lng=121.45)
    shop.refresh_from_db()
    assert shop.name == "New name"
    assert shop.cell_r10 == geo.cell_of(31.23, 121.45, 10)
    with pytest.raises(services.ShopLocationInvalid):
        services.shop_update(shop=shop, by=shop.owner, lat=31.0)


def test_a_new_licence_number_takes_the_badge_away():
    shop = ShopFactory()
    services.shop_verify(shop=shop, moderator=make_moderator())
    services.shop_update(shop=shop, by=shop.owner, description="Same licence")
    shop.refresh_from_db()
    assert shop.is_verified
    services.shop_update(shop=shop, by=shop.owner, licence_number="91310000XX00000001")
    shop.refresh_from_db()
    assert not shop.is_verified and shop.verified_by is None


def test_verify_records_who_and_when_and_needs_a_moderator():
    shop = ShopFactory()
    with pytest.raises(NotAllowed):
        services.shop_verify(shop=shop, moderator=shop.owner)
    mod = make_moderator()
    services.shop_verify(shop=shop, moderator=mod)
    shop.refresh_from_db()
    assert shop.is_verified and shop.verified_by == mod and shop.verified_at is not None
    services.shop_unverify(shop=shop, moderator=mod)
    shop.refresh_from_db()
    assert not shop.is_verified


def test_verify_needs_a_licence_number():
    shop = ShopFactory(licence_number="")
    with pytest.raises(services.ShopInvalid) as err:
        services.shop_verify(shop=shop, moderator=make_moderator())
    assert err.value.field == "licence_number"


# --- photos


def test_photos_are_cleaned_counted_and_removed(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "MAX_PHOTOS", 2)
    shop = ShopFactory()
    first = services.shop_photo_add(shop=shop, by=shop.owner, upload=image_upload(fmt="PNG"))
    second = services.shop_photo_add(shop=shop, by=shop.owner, upload=image_upload())
    assert (first.position, second.position) == (0, 1)
    assert first.image.name.endswith(".jpg")  # re-encoded, whatever came in
    with pytest.raises(services.TooManyPhotos):
        services.shop_photo_add(shop=shop, by=shop.owner, upload=image_upload())
    with pytest.raises(NotAllowed):
        services.shop_photo_remove(photo=first, by=ResidentFactory())
    storage, name = first.image.storage, first.image.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.shop_photo_remove(photo=first, by=shop.owner)
    assert ShopPhoto.objects.filter(shop=shop).count() == 1
    assert not storage.exists(name)


def test_a_fake_image_is_refused():
    shop = ShopFactory()
    with pytest.raises(InvalidImage):
        services.shop_photo_add(
            shop=shop, by=shop.owner, upload=SimpleUploadedFile("a.png", b"GIF89a not really", "image/png")
        )
    assert shop.photos.count() == 0


# --- hours


def test_hours_replace_the_week_atomically():
    shop = ShopFactory()
    services.shop_hours_set(shop=shop, by=shop.owner, spans=[(0, T(8), T(12)), (0, T(14), T(20)), (5, T(9), T(17))])
    assert shop.hours.count() == 3
    with pytest.raises(services.HoursInvalid) as err:
        services.shop_hours_set(shop=shop, by=shop.owner, spans=[(1, T(8), T(12)), (2, T(11), T(10))])
    assert err.value.weekday == 2
    assert "closes before it opens" in err.value.message
    assert shop.hours.count() == 3  # the old week stands
    services.shop_hours_set(shop=shop, by=shop.owner, spans=[(3, T(10, 0, 30), T(18))])
    assert list(shop.hours.values_list("weekday", "opens", "closes")) == [(3, T(10), T(18))]


@pytest.mark.parametrize(
    ("spans", "weekday", "words"),
    [
        ([(0, T(8), T(12)), (0, T(11), T(14))], 0, "overlap"),
        ([(4, T(9), T(17)), (4, T(9), T(17))], 4, "overlap"),
        ([(6, T(12), T(12))], 6, "closes before it opens"),
        ([(6, T(22), T(2))], 6, "closes before it opens"),
        ([(7, T(8), T(9))], None, "weekday"),
        ([(-1, T(8), T(9))], None, "weekday"),
        ([(1, "8:00", T(9))], 1, "times of day"),
        ([(1, T(8))], None, "weekday"),
        ([(2, T(h), T(h, 30)) for h in range(8, 13)], 2, "at most"),
    ],
)
def test_bad_hours_are_refused_with_the_day_named(spans, weekday, words):
    shop = ShopFactory()
    with pytest.raises(services.HoursInvalid) as err:
        services.shop_hours_set(shop=shop, by=shop.owner, spans=spans)
    assert err.value.weekday == weekday
    assert words in err.value.message
    assert not OpeningHours.objects.exists()


def test_touching_spans_are_fine_and_only_the_owner_sets_hours():
    shop = ShopFactory()
    services.shop_hours_set(shop=shop, by=shop.owner, spans=[(0, T(8), T(12)), (0, T(12), T(13))])
    with pytest.raises(NotAllowed):
        services.shop_hours_set(shop=shop, by=ResidentFactory(), spans=[])
    assert shop.hours.count() == 2


def test_the_database_refuses_backwards_hours_too():
    shop = ShopFactory()
    with pytest.raises(IntegrityError):
        OpeningHours.objects.create(shop=shop, weekday=0, opens=T(10), closes=T(9))


def test_exceptions_are_set_replaced_and_removed():
    shop = ShopFactory()
    today = services.shop_today(shop)
    tomorrow = today + dt.timedelta(days=1)
    services.shop_exception_set(shop=shop, by=shop.owner, date=tomorrow, closed=True, note="春节")
    services.shop_exception_set(shop=shop, by=shop.owner, date=tomorrow, closed=False, opens=T(10), closes=T(14))
    exc = OpeningException.objects.get(shop=shop)
    assert (exc.closed, exc.opens, exc.closes, exc.note) == (False, T(10), T(14), "")
    with pytest.raises(services.HoursInvalid):
        services.shop_exception_set(shop=shop, by=shop.owner, date=tomorrow, closed=False, opens=T(14), closes=T(9))
    with pytest.raises(services.HoursInvalid):
        services.shop_exception_set(shop=shop, by=shop.owner, date=tomorrow, closed=False, opens=T(14))
    with pytest.raises(services.HoursInvalid) as err:
        services.shop_exception_set(shop=shop, by=shop.owner, date=today - dt.timedelta(days=1), closed=True)
    assert err.value.field == "date"
    with pytest.raises(services.HoursInvalid):
        services.shop_exception_set(shop=shop, by=shop.owner, date=today + dt.timedelta(days=400), closed=True)
    with pytest.raises(services.ShopInvalid):
        services.shop_exception_set(shop=shop, by=shop.owner, date=tomorrow, closed=True, note="n" * 121)
    assert OpeningException.objects.get(shop=shop).closed is False  # the bad note changed nothing
    services.shop_exception_remove(shop=shop, by=shop.owner, date=tomorrow)
    with pytest.raises(services.NotFound):
        services.shop_exception_remove(shop=shop, by=shop.owner, date=tomorrow)


# --- pledges


def test_pledge_rows_are_never_edited_only_replaced():
    shop = ShopFactory()
    first = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS, terms={"days": 7})
    same = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS, terms={"days": "7"})
    assert same.pk == first.pk
    second = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS, terms={"days": 14})
    first.refresh_from_db()
    assert second.pk != first.pk
    assert (first.is_active, first.terms, first.withdrawn_at is not None) == (False, {"days": 7}, True)
    assert second.terms == {"days": 14} and second.is_active
    services.pledge_withdraw(pledge=second, by=shop.owner)
    second.refresh_from_db()
    assert not second.is_active and second.withdrawn_at
    assert ShopPledge.objects.filter(shop=shop).count() == 2  # both kept for claims


def test_pledge_terms_are_checked_and_defaults_filled():
    shop = ShopFactory()
    p = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.REFUND_NO_RETURN)
    assert p.terms == {"amount": "50.00"}
    for kind, terms, field in [
        ("made_up", {}, "kind"),
        (pledges.RETURNS, {"days": 0}, "terms.days"),
        (pledges.RETURNS, {"days": 31}, "terms.days"),
        (pledges.RETURNS, {"days": "seven"}, "terms.days"),
        (pledges.RETURNS, {"weeks": 1}, "terms"),
        (pledges.RETURNS, ["days", 7], "terms"),
        (pledges.COUNTERFEIT, {"multiple": 11}, "terms.multiple"),
        (pledges.REFUND_NO_RETURN, {"amount": "Infinity"}, "terms.amount"),
        (pledges.DELIVERY, {"hours": True}, "terms.hours"),
    ]:
        with pytest.raises(DomainError) as err:
            services.pledge_take(shop=shop, by=shop.owner, kind=kind, terms=terms)
        assert err.value.field == field, (kind, terms)
    assert ShopPledge.objects.filter(shop=shop).count() == 1


def test_only_the_owner_takes_or_withdraws_pledges():
    shop = ShopFactory()
    other = ResidentFactory()
    with pytest.raises(NotAllowed):
        services.pledge_take(shop=shop, by=other, kind=pledges.FRESHNESS)
    p = services.pledge_take(shop=shop, by=shop.owner, kind=pledges.FRESHNESS, terms={"hours": 12})
    with pytest.raises(NotAllowed):
        services.pledge_withdraw(pledge=p, by=other)


@pytest.mark.parametrize(
    ("kind", "terms", "words"),
    [
        (pledges.RETURNS, {"days": 10}, "within 10 days"),
        (pledges.REFUND_NO_RETURN, {"amount": "49.5"}, "¥49.5"),
        (pledges.REFUND_NO_RETURN, {"amount": 100}, "¥100 "),
        (pledges.FRESHNESS, {"hours": 6}, "within 6 hours"),
        (pledges.COUNTERFEIT, {"multiple": 4}, "4 times"),
        (pledges.DELIVERY, {"hours": 3}, "within 3 hours"),
    ],
)
def test_every_catalogue_kind_describes_itself_with_its_terms(kind, terms, words):
    pledge_kind = pledges.kind_get(kind)
    assert words in pledge_kind.describe(pledge_kind.clean_terms(terms))


# --- follows, staff, removal


def test_follow_is_idempotent_and_not_for_the_owner():
    shop = ShopFactory()
    fan = ResidentFactory()
    services.shop_follow(shop=shop, resident=fan)
    services.shop_follow(shop=shop, resident=fan)
    assert ShopFollow.objects.filter(shop=shop).count() == 1
    with pytest.raises(DomainError):
        services.shop_follow(shop=shop, resident=shop.owner)
    services.shop_unfollow(shop=shop, resident=fan)
    services.shop_unfollow(shop=shop, resident=fan)
    assert not ShopFollow.objects.exists()


def test_staff_are_added_by_the_owner_only():
    shop = ShopFactory()
    helper = ResidentFactory()
    with pytest.raises(NotAllowed):
        services.shop_staff_add(shop=shop, by=helper, resident=helper)
    services.shop_staff_add(shop=shop, by=shop.owner, resident=helper)
    assert list(shop.staff.all()) == [helper]
    services.shop_staff_remove(shop=shop, by=shop.owner, resident=helper)
    assert not shop.staff.exists()


def test_a_shop_with_open_stalls_is_not_removed():
    shop = ShopFactory()
    stall = Stall(
        seller=shop.owner,
        shop=shop,
        kind=Stall.Kind.SALE,
        title="Buns",
        expires_at=timezone.now() + dt.timedelta(hours=5),
    )
    stall.place_at(shop.point)
    stall.save()
    with pytest.raises(services.ShopBusy):
        services.shop_delete(shop=shop, by=shop.owner)
    with pytest.raises(NotAllowed):
        services.shop_delete(shop=shop, by=ResidentFactory())
    Stall.objects.filter(pk=stall.pk).update(status=Stall.Status.CLOSED)
    services.shop_delete(shop=shop, by=shop.owner)
    assert not Shop.objects.exists()
