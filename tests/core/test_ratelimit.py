"""The one rate limiter: per resident and per address, 429 with a retry time on every interface."""

import pytest
from django.test import override_settings
from django.urls import reverse

from apps.accounts import services as accounts
from apps.core.errors import DomainError
from apps.core.ratelimit import RateLimited, address_key, client_address, rate_check, wait_text
from apps.market.models import Stall
from tests.accounts.factories import JINGAN, TEST_PASSWORD, ResidentFactory
from tests.market.factories import publish

pytestmark = pytest.mark.django_db

# Windows are fixed (aligned to the clock): a window this long has no boundary inside a test.
LONG = 10**6


def test_a_resident_over_the_limit_is_refused_with_the_time_left(rate_limit):
    rate_limit("stall_publish", user=(2, LONG))
    me, other = ResidentFactory(home=JINGAN), ResidentFactory(home=JINGAN)
    publish(me)
    publish(me)
    with pytest.raises(RateLimited) as refused:
        publish(me)
    assert refused.value.status_code == 429 and refused.value.code == "rate_limited"
    assert 0 < refused.value.retry_after <= LONG
    assert "Try again in" in refused.value.message
    assert Stall.objects.filter(seller=me).count() == 2
    publish(other)  # each resident has their own allowance


def test_an_address_is_limited_across_residents(rate_limit):
    rate_limit("stall_publish", user=(100, LONG), address=(2, LONG))
    token = client_address.set("203.0.113.9")
    try:
        publish(ResidentFactory(home=JINGAN))
        publish(ResidentFactory(home=JINGAN))
        with pytest.raises(RateLimited):
            publish(ResidentFactory(home=JINGAN))
    finally:
        client_address.reset(token)
    publish(ResidentFactory(home=JINGAN))  # outside a request: per resident only


def test_ipv6_hosts_are_counted_by_their_64():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_key("198.51.100.7") == "198.51.100.7"


def test_invalid_input_uses_up_nothing(rate_limit):
    rate_limit("stall_publish", user=(1, LONG))
    me = ResidentFactory(home=JINGAN)
    with pytest.raises(DomainError) as refused:
        publish(me, title="")
    assert not isinstance(refused.value, RateLimited)
    publish(me)


def test_the_scale_lifts_every_limit(rate_limit, settings):
    rate_limit("vouch_give", user=(1, LONG))
    settings.JIEFANG_RATE_LIMIT_SCALE = 3
    me = ResidentFactory()
    for _ in range(3):
        rate_check("vouch_give", user=me)
    with pytest.raises(RateLimited):
        rate_check("vouch_give", user=me)


def test_with_the_cache_unreachable_the_write_goes_through(rate_limit):
    rate_limit("vouch_give", user=(1, LONG))
    me = ResidentFactory()
    unreachable = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    with override_settings(CACHES=unreachable):
        rate_check("vouch_give", user=me)
        rate_check("vouch_give", user=me)


def test_wait_text_rounds_up_in_words():
    assert wait_text(1) == "Try again in 1 second."
    assert wait_text(59) == "Try again in 59 seconds."
    assert wait_text(61 * 60 + 1) == "Try again in 62 minutes."
    assert wait_text(5 * 3600 + 1) == "Try again in 6 hours."


def test_moving_home_is_limited_but_the_same_area_again_is_free(rate_limit):
    rate_limit("home_set", user=(2, LONG))
    me = ResidentFactory()
    accounts.resident_home_set(resident=me, lat=JINGAN.lat, lng=JINGAN.lng)
    accounts.resident_home_set(resident=me, lat=JINGAN.lat, lng=JINGAN.lng)
    accounts.resident_home_set(resident=me, lat=31.25, lng=121.47)
    with pytest.raises(RateLimited):
        accounts.resident_home_set(resident=me, lat=31.20, lng=121.40)
    me.refresh_from_db()
    assert me.home_cell == accounts.geo.cell_of(31.25, 121.47, 9)


# --- Interfaces -----------------------------------------------------------------------------------


def test_the_api_answers_429_with_retry_after(resident_client, rate_limit):
    rate_limit("stall_publish", user=(1, LONG))
    accounts.resident_home_set(resident=resident_client.resident, lat=JINGAN.lat, lng=JINGAN.lng)
    payload = {"kind": "sale", "title": "Rice cooker", "price": "60"}
    assert resident_client.post("/api/stalls/", payload, format="json").status_code == 201
    refused = resident_client.post("/api/stalls/", payload, format="json")
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "rate_limited" and 0 < body["retry_after"] <= LONG
    assert refused.headers["Retry-After"] == str(body["retry_after"])


def test_a_refused_form_keeps_its_input_and_answers_429(client, rate_limit):
    rate_limit("stall_publish", user=(1, LONG))
    client.force_login(ResidentFactory(home=JINGAN))
    form = {"kind": "sale", "title": "Bike", "price": "150", "quantity": 1, "category": "other"}
    assert client.post(reverse("market:stall_create"), form).status_code == 302
    refused = client.post(reverse("market:stall_create"), {**form, "title": "Second bike"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    html = refused.content.decode()
    assert "You are posting stalls too fast." in html and "Try again in" in html
    assert 'value="Second bike"' in html


def test_sign_up_from_one_address_is_limited(client, rate_limit):
    rate_limit("sign_up", address=(1, LONG))

    def sign_up(name):
        return client.post(
            reverse("accounts:sign_up"),
            {
                "username": name,
                "email": f"{name}@example.org",
                "display_name": name,
                "language": "en",
                "password1": TEST_PASSWORD,
                "password2": TEST_PASSWORD,
            },
            REMOTE_ADDR="198.51.100.20",
        )

    assert sign_up("first").status_code == 302
    client.logout()
    refused = sign_up("second")
    assert refused.status_code == 429
    assert "Too many accounts were created from your network." in refused.content.decode()
    assert sign_up_elsewhere_works(client)


def sign_up_elsewhere_works(client) -> bool:
    return (
        client.post(
            reverse("accounts:sign_up"),
            {
                "username": "third",
                "email": "third@example.org",
                "display_name": "third",
                "language": "en",
                "password1": TEST_PASSWORD,
                "password2": TEST_PASSWORD,
            },
            REMOTE_ADDR="198.51.100.21",
        ).status_code
        == 302
    )


def test_a_view_that_lets_the_refusal_through_shows_the_429_page(client, rate_limit):
    rate_limit("home_set", user=(1, LONG))
    client.force_login(ResidentFactory(home=JINGAN))
    refused = client.post(reverse("accounts:home"), {"lat": 31.25, "lng": 121.47})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    assert refused.templates[0].name == "429.html"
    assert "You have moved your home area too often." in refused.content.decode()


@pytest.mark.django_db(transaction=True)
def test_under_asgi_the_address_and_the_refusal_cross_into_the_view_thread(rate_limit):
    """Django runs sync views in a worker thread under ASGI: the address set by the middleware and
    the refusal a view caught must still meet."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    rate_limit("stall_publish", user=(100, LONG), address=(1, LONG))
    form = {"kind": "sale", "title": "Bike", "price": "150", "quantity": 1, "category": "other"}

    async def post_as(resident):
        client = AsyncClient(REMOTE_ADDR="192.0.2.44")
        await client.aforce_login(resident)
        return await client.post(reverse("market:stall_create"), form)

    first, second = ResidentFactory(home=JINGAN), ResidentFactory(home=JINGAN)
    assert async_to_sync(post_as)(first).status_code == 302
    refused = async_to_sync(post_as)(second)
    assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_reports_from_one_address_are_limited_across_reporters(rate_limit):
    from tests.moderation.factories import neighbour, report

    rate_limit("report_file", address=(2, 3600))
    token = client_address.set("203.0.113.77")
    try:
        report(publish(), by=neighbour(), reason="spam")
        report(publish(), by=neighbour(), reason="spam")
        with pytest.raises(RateLimited) as refused:
            report(publish(), by=neighbour(), reason="spam")
    finally:
        client_address.reset(token)
    assert "Too many reports were sent from your network." in refused.value.message


def test_vouches_from_one_address_are_limited_across_vouchers(rate_limit):
    from apps.trust import services as trust
    from tests.trust.factories import neighbour

    rate_limit("vouch_give", address=(2, LONG))
    vouchee = neighbour()
    token = client_address.set("203.0.113.78")
    try:
        trust.vouch_give(voucher=neighbour(verified=True), vouchee=vouchee)
        trust.vouch_give(voucher=neighbour(verified=True), vouchee=vouchee)
        with pytest.raises(RateLimited) as refused:
            trust.vouch_give(voucher=neighbour(verified=True), vouchee=vouchee)
    finally:
        client_address.reset(token)
    assert "Too many vouches were given from your network." in refused.value.message


# --- "Near me now": the one read that moves an origin around neighbours ------------------------------


def test_near_me_now_positions_are_limited_per_resident_on_the_api_and_the_pages(client, api_client, rate_limit):
    rate_limit("near_me_now", user=(2, LONG), address=(100, LONG))
    me = ResidentFactory(home=JINGAN)
    api_client.force_authenticate(me)
    client.force_login(me)
    here = {"lat": 31.2301, "lng": 121.4701}
    assert api_client.get("/api/stalls/feed/", here).status_code == 200
    assert client.get(reverse("market:map"), here).status_code == 200
    refused = api_client.get("/api/stalls/feed/", here)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == str(refused.json()["retry_after"])
    page = client.get(reverse("home"), here)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert "You have asked for the feed around a position of your own too often." in page.content.decode()
    # The feed around the home is not a position of one's own choosing: it is never counted.
    assert api_client.get("/api/stalls/feed/").status_code == 200
    assert client.get(reverse("home")).status_code == 200
    other = ResidentFactory(home=JINGAN)
    api_client.force_authenticate(other)
    assert api_client.get("/api/stalls/feed/", here).status_code == 200


def test_near_me_now_is_limited_per_address_across_residents_and_visitors(api_client, rate_limit):
    rate_limit("near_me_now", user=(100, LONG), address=(2, LONG))
    here = {"lat": 31.2301, "lng": 121.4701}
    for resident in (ResidentFactory(home=JINGAN), ResidentFactory(home=JINGAN)):
        api_client.force_authenticate(resident)
        assert api_client.get("/api/stalls/feed/", here, REMOTE_ADDR="203.0.113.90").status_code == 200
    api_client.force_authenticate(None)
    refused = api_client.get("/api/stalls/feed/", here, REMOTE_ADDR="203.0.113.90")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("The feed was asked for around positions too often from your network.")
    assert api_client.get("/api/stalls/feed/", here, REMOTE_ADDR="203.0.113.91").status_code == 200


def test_a_refused_near_me_now_position_is_still_validated_first(api_client, rate_limit):
    """Bad input is a 400 and uses up nothing, as everywhere else."""
    rate_limit("near_me_now", user=(1, LONG))
    api_client.force_authenticate(ResidentFactory(home=JINGAN))
    assert api_client.get("/api/stalls/feed/", {"lat": 91, "lng": 121.47}).status_code == 400
    assert api_client.get("/api/stalls/feed/", {"lat": 31.23, "lng": 121.47}).status_code == 200


def test_behind_a_trusted_proxy_the_client_is_read_from_x_forwarded_for(rf, settings):
    """gunicorn leaves REMOTE_ADDR at the proxy's address: limits and lockouts must count the
    client, and nobody may choose the address counted by writing the header themselves."""
    from apps.core.ratelimit import client_ip, request_address

    settings.JIEFANG_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    proxied = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert client_ip(proxied) == "203.0.113.7" == request_address(proxied)
    # a client's own header stays on the left of what our proxies add
    spoofed = rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7, 10.0.0.5")
    assert client_ip(spoofed) == "203.0.113.7"
    # from anywhere else the header is ignored
    direct = rf.get("/", REMOTE_ADDR="192.0.2.44", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(direct) == "192.0.2.44"
    # a trusted proxy with no header, or a header of garbage, is counted as itself
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, not-an-ip")) == "127.0.0.1"
