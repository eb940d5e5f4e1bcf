import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.accounts.models import Resident
from apps.nearby import geo
from apps.notifications import services
from apps.notifications.digest import digest_build
from apps.notifications.models import EmailDelivery
from apps.notifications.selectors import digest_preview
from apps.shops import services as shop_services
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, photo, publish

from .conftest import neighbour

pytestmark = pytest.mark.django_db

# About 300 m and 10 km from Jing'an.
NEAR = geo.Point(JINGAN.lat + 0.0027, JINGAN.lng)
FAR = geo.Point(JINGAN.lat + 0.09, JINGAN.lng)


def _window():
    return timezone.now() - timedelta(microseconds=1)


def test_new_stalls_near_home_best_first_with_absolute_photo_urls(settings):
    settings.JIEFANG_SITE_URL = "https://jiefang.example"
    me = neighbour()
    old = publish(shop=make_shop(at=JINGAN), title="Yesterday's buns")
    since = _window()
    near_shop = make_shop(at=NEAR, name="Corner fruit")
    farther = publish(shop=near_shop, title="Lychees", photos=[photo()])
    nearest = publish(ResidentFactory(home=JINGAN), title="A bicycle")
    publish(shop=make_shop(at=FAR), title="Far away")
    publish(me, title="My own old lamp")
    digest = digest_build(resident=me, since=since, now=timezone.now())
    titles = [s.title for s in digest.stalls]
    assert titles == [nearest.title, farther.title]
    assert old.title not in titles
    lychees = digest.stalls[1]
    assert lychees.photo_url.startswith("https://jiefang.example/media/stalls/")
    assert lychees.absolute_url == f"https://jiefang.example/market/stalls/{farther.pk}/"
    assert not digest.more_stalls and not digest.is_empty


def test_only_the_best_few_and_a_link_to_more():
    me = neighbour()
    since = _window()
    shop = make_shop(at=NEAR)
    for _ in range(7):
        publish(shop=shop)
    digest = digest_build(resident=me, since=since, now=timezone.now())
    assert len(digest.stalls) == 5 and digest.more_stalls


def test_followed_shops_wherever_they_are():
    me = neighbour()
    far_shop = make_shop(at=FAR, name="Old friend's bakery")
    shop_services.shop_follow(shop=far_shop, resident=me)
    since = _window()
    stall = publish(shop=far_shop, title="Mooncakes")
    digest = digest_build(resident=me, since=since, now=timezone.now())
    assert digest.stalls == [] and [s.pk for s in digest.followed] == [stall.pk]


def test_new_shops_and_pledges_nearby():
    me = neighbour()
    older = make_shop(at=NEAR, name="Old grocer")
    since = _window()
    new = make_shop(at=NEAR, name="New bakery", pledges=["returns"])
    shop_services.pledge_take(shop=older, by=older.owner, kind="freshness")
    make_shop(at=FAR, name="Far shop")
    digest = digest_build(resident=me, since=since, now=timezone.now())
    assert [s.name for s in digest.shops] == [new.name]
    # the new shop's own pledges come with the shop; the old shop's new pledge is news of its own
    assert [p.shop.name for p in digest.pledges] == ["Old grocer"]


def test_newly_verified_neighbours_by_count_and_name_never_by_place():
    me = neighbour()
    before = ResidentFactory(home=NEAR, display_name="Verified long ago")
    Resident.objects.filter(pk=before.pk).update(residency_verified_at=timezone.now() - timedelta(days=30))
    since = _window()
    fresh = [ResidentFactory(home=NEAR, display_name=f"Li {i}") for i in range(4)]
    far = ResidentFactory(home=FAR, display_name="Far one")
    Resident.objects.filter(pk__in=[r.pk for r in [*fresh, far, me]]).update(residency_verified_at=timezone.now())
    me.refresh_from_db()
    digest = digest_build(resident=me, since=since, now=timezone.now())
    assert digest.neighbours_count == 4
    assert digest.neighbour_names == ["Li 0", "Li 1", "Li 2"]
    message = services.emails.digest_message(
        digest=digest,
        delivery=EmailDelivery(resident=me, kind="digest", period="D2026-01-01", not_before=timezone.now()),
        time_zone="Asia/Shanghai",
    )
    text = message.body
    assert "4 neighbours in your area are newly verified: Li 0, Li 1, Li 2" in text
    # no distance, no place for neighbours: nothing in metres or km next to their names
    line = next(ln for ln in text.splitlines() if "newly verified" in ln)
    assert " m" not in line and "km" not in line


def test_nothing_new_means_no_email(run_due):
    me = neighbour(digest="daily", digest_hour=0)
    publish(shop=make_shop(at=FAR))
    run_due()
    delivery = EmailDelivery.objects.get(resident=me)
    assert delivery.status == "empty" and delivery.window_end is not None
    assert [m for m in mail.outbox if me.email in m.to] == []


def test_digest_message_parts_and_headers(settings, run_due):
    settings.JIEFANG_SITE_URL = "https://jiefang.example"
    me = neighbour(digest="daily", digest_hour=0)
    publish(shop=make_shop(at=NEAR), title="Fresh tofu", photos=[photo()])
    run_due()
    delivery = EmailDelivery.objects.get(resident=me)
    assert delivery.status == "sent" and delivery.summary["stalls"] == 1
    (message,) = [m for m in mail.outbox if me.email in m.to]
    assert message.to == [me.email]
    assert message.subject == "Jiefang: 1 new stall near you"
    assert "Fresh tofu" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Fresh tofu" in html and 'name="viewport"' in html
    assert 'src="https://jiefang.example/media/stalls/' in html
    link = message.extra_headers["List-Unsubscribe"]
    assert link.startswith("<https://jiefang.example/notifications/unsubscribe/") and link.endswith("/>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["Message-ID"] == delivery.message_id
    assert link[1:-1] in message.body and link[1:-1] in html
    # the size of a phone-friendly e-mail, not a newsletter
    assert len(message.message().as_bytes()) < 40_000


def test_digest_in_chinese_for_a_chinese_reader(run_due):
    me = neighbour(language="zh-hans", digest="daily", digest_hour=0)
    publish(shop=make_shop(at=NEAR), title="新鲜豆腐")
    run_due()
    (message,) = [m for m in mail.outbox if me.email in m.to]
    assert "附近的新摊位" in message.body and "新鲜豆腐" in message.body
    assert "退订" in message.alternatives[0][0]
    assert "附近" in message.subject


def test_the_window_starts_where_the_last_digest_ended(run_due):
    me = neighbour(digest="daily", digest_hour=0)
    shop = make_shop(at=NEAR)
    publish(shop=shop, title="First")
    run_due()
    first = EmailDelivery.objects.get(resident=me)
    publish(shop=shop, title="Second")
    later = timezone.now() + timedelta(hours=1)
    digest, _message, _prefs = digest_preview(resident=me, now=later)
    assert digest.since == first.window_end
    assert [s.title for s in digest.stalls] == ["Second"]


def test_admin_preview_of_any_resident(admin_client):
    me = neighbour()
    publish(shop=make_shop(at=NEAR), title="Spring onions")
    resp = admin_client.get("/admin/notifications/emaildelivery/preview/", {"resident": me.username})
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "Spring onions" in body and "List-Unsubscribe" in body
    assert EmailDelivery.objects.count() == 0  # previewing records nothing
    quiet = neighbour(at=FAR)
    resp = admin_client.get("/admin/notifications/emaildelivery/preview/", {"resident": str(quiet.pk)})
    assert b'data-testid="nothing-new"' in resp.content
    resp = admin_client.get("/admin/notifications/emaildelivery/preview/", {"resident": "nobody-at-all"})
    assert b"No such resident" in resp.content


def test_admin_lists_deliveries(admin_client, run_due):
    neighbour(digest="daily", digest_hour=0)
    run_due()
    assert admin_client.get("/admin/notifications/emaildelivery/").status_code == 200
    assert admin_client.get("/admin/notifications/notificationpreferences/").status_code == 200


# --- Neighbours share their area's news, and each still gets exactly their own digest ---------


def _delivery(resident):
    return EmailDelivery(resident=resident, kind="digest", period="D2026-01-01", not_before=timezone.now())


def test_neighbours_of_one_cell_share_the_area_read_once(django_assert_max_num_queries):
    from apps.notifications.digest import DigestBuilder

    a, b = neighbour(), neighbour()
    since = _window()
    publish(shop=make_shop(at=NEAR), title="Dumplings")
    builder = DigestBuilder(now=timezone.now())
    first = builder.build(resident=a, since=since)
    with django_assert_max_num_queries(1):  # only b's followed shops: the area is cached
        second = builder.build(resident=b, since=since)
    assert [s.title for s in first.stalls] == [s.title for s in second.stalls] == ["Dumplings"]
    assert first.is_area_shared and second.is_area_shared and first.area_key == second.area_key


def test_a_residents_own_stalls_are_left_out_and_the_next_best_read(settings):
    from apps.notifications.digest import PAD, STALLS_SHOWN, DigestBuilder

    busy, other = neighbour(), neighbour()
    since = _window()
    mine = [publish(busy, title=f"Mine {i}") for i in range(STALLS_SHOWN + PAD)]
    theirs = publish(shop=make_shop(at=NEAR), title="Not mine")
    builder = DigestBuilder(now=timezone.now())
    seen_by_other = builder.build(resident=other, since=since)
    assert len(seen_by_other.stalls) == STALLS_SHOWN and seen_by_other.more_stalls
    seen_by_busy = builder.build(resident=busy, since=since)
    assert [s.pk for s in seen_by_busy.stalls] == [theirs.pk]
    assert not seen_by_busy.is_area_shared
    assert not {s.pk for s in seen_by_busy.stalls} & {s.pk for s in mine}


def test_a_newly_verified_resident_does_not_count_themselves():
    from apps.notifications.digest import DigestBuilder

    me, other = neighbour(), neighbour(display_name="Wang Fang")
    since = _window()
    Resident.objects.filter(pk__in=[me.pk, other.pk]).update(residency_verified_at=timezone.now())
    builder = DigestBuilder(now=timezone.now())
    mine, theirs = builder.build(resident=me, since=since), builder.build(resident=other, since=since)
    assert (mine.neighbours_count, mine.neighbour_names) == (1, ["Wang Fang"])
    assert theirs.neighbours_count == 1 and theirs.neighbour_names == [me.display_name]


def test_shared_sections_are_rendered_once_per_language():
    from apps.notifications import emails
    from apps.notifications.digest import DigestBuilder

    en1, en2, zh = neighbour(), neighbour(display_name="<b>Tom & Jerry</b>"), neighbour(language="zh-hans")
    since = _window()
    publish(shop=make_shop(at=NEAR), title="Tea eggs")
    builder, fragments = DigestBuilder(now=timezone.now()), {}
    messages = [
        emails.digest_message(
            digest=builder.build(resident=r, since=since),
            delivery=_delivery(r),
            time_zone="Asia/Shanghai",
            fragments=fragments,
        )
        for r in (en1, en2, zh)
    ]
    # per language: the area's sections, the frame around them, the empty personal sections
    assert sorted(k[0] for k in fragments) == ["area", "area", "frame", "frame", "no-personal", "no-personal"]
    assert "New stalls near you" in messages[1].body and "附近的新摊位" in messages[2].body
    assert "Hello <b>Tom & Jerry</b>," in messages[1].body and en1.display_name not in messages[1].body
    html = messages[1].alternatives[0][0]
    assert "Hello &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;," in html and "<b>Tom" not in html
    assert "@@" not in messages[1].body + html
    # each keeps their own unsubscribe link
    links = {m.extra_headers["List-Unsubscribe"] for m in messages}
    assert len(links) == 3


def test_followed_shops_read_for_a_batch_at_once(django_assert_num_queries):
    from apps.notifications.digest import DigestBuilder

    a, b = neighbour(at=FAR), neighbour(at=FAR)
    shop = make_shop(at=JINGAN)
    since = _window()
    shop_services.shop_follow(shop=shop, resident=a)
    stall = publish(shop=shop, title="Steamed buns")
    builder = DigestBuilder(now=timezone.now())
    builder.prepare({a.pk: since, b.pk: since})
    builder.build(resident=a, since=since)  # reads the area once
    with django_assert_num_queries(0):
        assert [s.pk for s in builder.build(resident=a, since=since).followed] == [stall.pk]
        assert builder.build(resident=b, since=since).followed == []


def test_a_shared_render_is_the_same_email_as_a_render_of_its_own():
    from apps.notifications import emails
    from apps.notifications.digest import DigestBuilder

    first, me = neighbour(), neighbour(display_name="Zhou & Sons")
    since = _window()
    publish(shop=make_shop(at=NEAR), title="Scallion pancakes")
    builder, fragments = DigestBuilder(now=timezone.now()), {}
    emails.digest_message(
        digest=builder.build(resident=first, since=since),
        delivery=_delivery(first),
        time_zone="UTC",
        fragments=fragments,
    )
    shared = emails.digest_message(
        digest=builder.build(resident=me, since=since), delivery=_delivery(me), time_zone="UTC", fragments=fragments
    )
    alone = emails.digest_message(
        digest=builder.build(resident=me, since=since), delivery=_delivery(me), time_zone="UTC"
    )
    assert shared.subject == alone.subject
    # The unsubscribe token is signed with the second it was made in; the rest must be the same.
    assert _untimed(shared.body) == _untimed(alone.body)
    assert _untimed(shared.alternatives[0][0]) == _untimed(alone.alternatives[0][0])


# --- The worker's shared path sends each resident exactly the e-mail rendered for them alone ----


def _comparable(data: bytes) -> bytes:
    """A message's bytes without what differs between two writings of the same e-mail: the random
    multipart boundary, the Date, and the signing time inside the unsubscribe token."""
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    data = data.replace(boundary, b"BOUNDARY")
    data = re.sub(rb"\r\nDate: [^\r]+", b"", data)
    return re.sub(rb"(unsubscribe/[\w-]+):\w+:[\w-]+/", rb"\1/", data)


def _untimed(text: str) -> str:
    return re.sub(r"(unsubscribe/[\w-]+):\w+:[\w-]+/", r"\1/", text)


def _plain_django_bytes(message) -> bytes:
    """The same content written by Django's own EmailMultiAlternatives."""
    from django.core.mail import EmailMultiAlternatives

    plain = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body,
        to=message.to,
        headers=message.extra_headers,
        alternatives=message.alternatives,
    )
    return plain.message().as_bytes(linesep="\r\n")


def test_the_batch_sends_every_resident_the_email_rendered_for_them_alone(settings):
    """A mix of neighbours (languages, time zones, a weekly window, followed shops, unread messages,
    a seller whose own stalls fill the area, names and titles with markup or the stand-in marks):
    the worker's path (`_Batch` + `_compose`: areas read together, sections and frames shared,
    the quick MIME writer) gives each the same subject, text, HTML, headers and bytes as building
    and rendering their digest alone and writing it with Django's own message class."""
    from apps.chat import services as chat_services
    from apps.notifications import emails
    from apps.notifications.digest import STALLS_SHOWN, digest_since

    settings.JIEFANG_SITE_URL = "https://jiefang.example"
    daily = {"digest": "daily", "digest_hour": 0}
    mix = [
        neighbour(**daily),
        neighbour(display_name="<b>Tom & Jerry</b>", **daily),
        neighbour(language="zh-hans", **daily),
        neighbour(language="zh-hans", display_name="@@jiefang-area@@ 王", **daily),
        neighbour(time_zone="Europe/London", **daily),
        neighbour(digest="weekly", digest_weekday=0, digest_hour=0),
        neighbour(at=NEAR, **daily),
        neighbour(at=geo.Point(JINGAN.lat - 0.3, JINGAN.lng), **daily),  # nothing new out there: no e-mail
    ]
    follower, talker, busy = neighbour(**daily), neighbour(language="zh-hans", **daily), neighbour(**daily)
    mix += [follower, talker, busy]
    far_shop = make_shop(at=FAR, name="Old friend's bakery")
    shop_services.shop_follow(shop=far_shop, resident=follower)
    publish(shop=far_shop, title="Mooncakes", photos=[photo()])
    friend = ResidentFactory(home=FAR)
    conversation = chat_services.conversation_open(resident=friend, other=talker)
    chat_services.message_send(sender=friend, conversation_id=conversation.pk, body="hi", client_msg_id="m1")
    for i in range(STALLS_SHOWN + 3):
        publish(busy, title=f"Busy's lamp {i}")
    shop = make_shop(at=NEAR, name="Corner & <Sons>", pledges=["returns"])
    publish(shop=shop, title="@@jiefang-name@@ <i>tofu</i>", photos=[photo()])
    publish(ResidentFactory(home=JINGAN), title="A bicycle")
    Resident.objects.filter(pk__in=[ResidentFactory(home=NEAR, display_name=f"Li {i}").pk for i in range(4)]).update(
        residency_verified_at=timezone.now()
    )
    now = timezone.now()

    residents = list(
        Resident.objects.filter(pk__in=[r.pk for r in mix])
        .select_related("notification_preferences")
        .order_by("home_cell", "pk")
    )
    deliveries = [
        EmailDelivery(pk=r.pk, resident=r, kind="digest", period="D2026-01-01", not_before=now) for r in residents
    ]
    batch = services._Batch(deliveries, now)
    compared = {"sent": 0, "shared": 0, "followed": 0, "unread": 0, "personal area": 0}
    for delivery in deliveries:
        resident = delivery.resident
        shared, fields = services._compose(delivery, batch)
        prefs = services._preferences(resident)
        since = digest_since(resident=resident, frequency=prefs.digest, now=now, last_end=None)
        digest = digest_build(
            resident=resident, since=since, now=now, unread_messages=services._unread_messages(resident)
        )
        assert fields["summary"] == digest.summary()
        if digest.is_empty:
            assert shared is None
            continue
        alone = emails.digest_message(digest=digest, delivery=delivery, time_zone=prefs.time_zone)
        assert shared.subject == alone.subject
        assert _untimed(shared.body) == _untimed(alone.body)
        assert [(_untimed(c), t) for c, t in shared.alternatives] == [(_untimed(c), t) for c, t in alone.alternatives]
        assert {k: _untimed(v) for k, v in shared.extra_headers.items()} == {
            k: _untimed(v) for k, v in alone.extra_headers.items()
        }
        assert _comparable(shared.message().as_bytes(linesep="\r\n")) == _comparable(_plain_django_bytes(alone))
        compared["sent"] += 1
        compared["shared"] += digest.is_area_shared
        compared["followed"] += bool(digest.followed)
        compared["unread"] += bool(digest.unread_messages)
        compared["personal area"] += not digest.is_area_shared and resident.point is not None
    # every kind of digest of the mix was among those compared
    assert compared == {"sent": 10, "shared": 9, "followed": 1, "unread": 1, "personal area": 1}
