from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import DatabaseError
from django.utils import timezone

from apps.core.errors import DomainError, NotAllowed
from apps.core.images import InvalidImage
from apps.market import services
from apps.market.models import Stall, StallPhoto
from apps.notifications.models import Notification
from apps.shops.models import ShopFollow
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, photo, publish

pytestmark = pytest.mark.django_db


def test_resident_stall_carries_only_the_home_area():
    seller = ResidentFactory(home=JINGAN)
    stall = publish(seller, kind="free", title="Baby clothes")
    assert not stall.location_is_exact
    assert (stall.lat, stall.lng) == (seller.lat, seller.lng)  # the home cell's centre, not a point
    assert stall.price is None
    assert timedelta(days=6, hours=23) < stall.expires_at - timezone.now() <= timedelta(days=7)


def test_shop_stall_is_at_the_shop_with_a_day_by_default():
    shop = make_shop()
    stall = publish(shop=shop, title="Fresh tofu", price="4.50")
    assert stall.location_is_exact and (stall.lat, stall.lng) == (shop.lat, shop.lng)
    assert stall.expires_at - timezone.now() <= timedelta(hours=24)


def test_resident_without_home_cannot_post():
    with pytest.raises(DomainError) as exc:
        publish(ResidentFactory(), title="x")
    assert exc.value.field == "home"


def test_only_shop_staff_post_for_a_shop():
    shop = make_shop()
    stranger = ResidentFactory(home=JINGAN)
    with pytest.raises(NotAllowed):
        publish(stranger, shop=shop)
    staff = ResidentFactory(home=JINGAN)
    shop.staff.add(staff)
    assert publish(staff, shop=shop).shop == shop


def test_suspended_shop_cannot_post():
    shop = make_shop(suspended_until=timezone.now() + timedelta(days=3))
    with pytest.raises(NotAllowed):
        publish(shop=shop)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "99999999"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": None}, "price"),  # sale without price
        ({"kind": "event"}, "starts_at"),
        ({"kind": "event", "starts_at": timezone.now() - timedelta(hours=1)}, "starts_at"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
        ({"expires_at": timezone.now() + timedelta(days=31)}, "expires_at"),
        ({"title": "   "}, "title"),
        ({"kind": "bogus"}, "kind"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(fields, field):
    seller = ResidentFactory(home=JINGAN)
    with pytest.raises(DomainError) as exc:
        publish(seller, **fields)
    assert exc.value.field == field
    assert Stall.objects.count() == 0


@pytest.mark.parametrize(
    "title", ["Cute puppies for sale", "出售高仿名牌包", "Gift card 500 yuan", "处方药 转让", "Air gun", "活鸡 现杀"]
)
def test_prohibited_items_are_refused_with_a_reason(title):
    with pytest.raises(DomainError) as exc:
        publish(title=title)
    assert exc.value.code == "prohibited"
    assert exc.value.message


def test_harmless_words_are_not_mistaken():
    assert publish(title="Begun knitting: handmade scarves").pk
    assert publish(title="Dog walking help wanted", kind="wanted", price=None).pk


def test_photos_are_cleaned_and_limited():
    seller = ResidentFactory(home=JINGAN)
    stall = publish(seller, photos=[photo(), photo("blue")])
    assert stall.photos.count() == 2
    with pytest.raises(DomainError) as exc:
        services.stall_photos_add(stall=stall, actor=seller, photos=[photo() for _ in range(5)])
    assert exc.value.field == "photos"
    assert stall.photos.count() == 2


def test_seven_photos_at_once_are_refused():
    with pytest.raises(DomainError):
        publish(photos=[photo() for _ in range(7)])
    assert Stall.objects.count() == 0 and StallPhoto.objects.count() == 0


def test_a_fake_photo_leaves_nothing_half_saved():
    from django.core.files.uploadedfile import SimpleUploadedFile

    with pytest.raises(InvalidImage):
        publish(photos=[photo(), SimpleUploadedFile("x.jpg", b"not a jpeg", "image/jpeg")])
    assert Stall.objects.count() == 0 and StallPhoto.objects.count() == 0


def _media_files(settings) -> list:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _failing_on_second_photo(monkeypatch):
    """Storage writes the file, then the photo's row fails: the second row of a call."""
    real_save = StallPhoto.save
    rows = []

    def save(self, *args, **kwargs):
        rows.append(self)
        if len(rows) == 2:
            raise DatabaseError("the database went away")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(StallPhoto, "save", save)


def test_a_stall_that_fails_midway_leaves_no_photo_file(monkeypatch, settings):
    seller = ResidentFactory(home=JINGAN)
    _failing_on_second_photo(monkeypatch)
    with pytest.raises(DatabaseError):
        publish(seller, photos=[photo(), photo("blue"), photo("red")])
    assert Stall.objects.count() == 0 and StallPhoto.objects.count() == 0
    assert _media_files(settings) == []


def test_photos_added_that_fail_midway_leave_the_earlier_ones_whole(monkeypatch, settings):
    seller = ResidentFactory(home=JINGAN)
    stall = publish(seller, photos=[photo()])
    kept = _media_files(settings)
    assert len(kept) == 1 and stall.photos.get().image.name == str(kept[0])
    _failing_on_second_photo(monkeypatch)
    with pytest.raises(DatabaseError):
        services.stall_photos_add(stall=stall, actor=seller, photos=[photo("blue"), photo("red")])
    assert list(stall.photos.values_list("image", flat=True)) == [str(kept[0])]
    assert _media_files(settings) == kept


def test_edits_are_for_the_seller_only():
    stall = publish(title="Old bike")
    other = ResidentFactory(home=JINGAN)
    with pytest.raises(NotAllowed):
        services.stall_update(stall=stall, actor=other, title="Mine now")
    stall.refresh_from_db()
    assert stall.title == "Old bike"
    services.stall_update(stall=stall, actor=stall.seller, price=Decimal("80"))
    stall.refresh_from_db()
    assert stall.price == Decimal("80.00")


def test_status_lifecycle():
    stall = publish()
    seller = stall.seller
    assert services.stall_reserve(stall=stall, actor=seller).status == "reserved"
    assert services.stall_reopen(stall=stall, actor=seller).status == "open"
    assert services.stall_close(stall=stall, actor=seller).status == "closed"
    with pytest.raises(DomainError):
        services.stall_reserve(stall=stall, actor=seller)
    with pytest.raises(DomainError):
        services.stall_renew(stall=stall, actor=seller)


def test_expiry_task_and_renewal():
    stall = publish()
    Stall.objects.filter(pk=stall.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.stalls_expire_due() == 1
    assert services.stalls_expire_due() == 0  # idempotent
    stall.refresh_from_db()
    assert stall.status == "expired"
    renewed = services.stall_renew(stall=stall, actor=stall.seller)
    assert renewed.status == "open" and renewed.expires_at > timezone.now()
    assert renewed.fresh_days > stall.fresh_days - 1e-9


def test_followers_are_notified_once_of_a_shop_stall(django_capture_on_commit_callbacks):
    shop = make_shop(name="老王水果")
    fans = [ResidentFactory(home=JINGAN) for _ in range(3)]
    for fan in fans:
        ShopFollow.objects.create(shop=shop, resident=fan)
    with django_capture_on_commit_callbacks(execute=True):
        stall = publish(shop=shop, title="Lychees")
    assert Notification.objects.filter(kind="followed_shop_stall").count() == 3
    from apps.market.tasks import stall_notify_followers

    assert stall_notify_followers(stall.pk) == 0  # a redelivered task tells nobody twice
    assert "Lychees" in Notification.objects.first().text


def test_feed_visits_move_the_new_line_only_after_a_gap():
    me = ResidentFactory(home=JINGAN)
    t0 = timezone.now()
    assert services.resident_feed_visit(resident=me, now=t0) is None  # first visit ever: nothing is "new"
    assert services.resident_feed_visit(resident=me, now=t0 + timedelta(minutes=10)) is None  # same visit
    assert services.resident_feed_visit(resident=me, now=t0 + timedelta(minutes=20)) is None
    later = t0 + timedelta(hours=3)
    assert services.resident_feed_visit(resident=me, now=later) == t0 + timedelta(minutes=20)  # a new visit
    me.refresh_from_db()
    assert me.feed_visit_at == later and me.feed_seen_at == t0 + timedelta(minutes=20)


def test_feed_visit_writes_at_most_once_a_minute(django_assert_num_queries):
    me = ResidentFactory(home=JINGAN)
    t0 = timezone.now()
    services.resident_feed_visit(resident=me, now=t0)
    with django_assert_num_queries(0):
        services.resident_feed_visit(resident=me, now=t0 + timedelta(seconds=30))
