import pytest
from django.urls import reverse

from apps.notifications import services
from apps.notifications.models import NotificationPreferences
from tests.accounts.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def test_defaults_without_a_row():
    r = ResidentFactory()
    prefs = services.preferences_of(resident_id=r.pk)
    assert prefs.pk is not None and prefs._state.adding  # the defaults, not stored
    assert (prefs.digest, prefs.digest_hour, prefs.digest_weekday) == ("weekly", 9, 5)
    assert prefs.time_zone == "Asia/Shanghai"
    assert prefs.email_messages and prefs.email_deals and prefs.email_moderation


def test_update_stores_and_validates_the_zone():
    r = ResidentFactory()
    prefs = services.preferences_update(resident=r, digest="daily", digest_hour=7, time_zone="America/New_York")
    assert NotificationPreferences.objects.get(pk=r.pk).time_zone == "America/New_York"
    assert prefs.digest_hour == 7


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": -1}, "digest_hour"),
        ({"digest_hour": "eight"}, "digest_hour"),
        ({"digest_hour": True}, "digest_hour"),
        ({"digest_weekday": 7}, "digest_weekday"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"digest": "hourly"}, "digest"),
        ({"email_deals": "maybe"}, "email_deals"),
    ],
)
def test_bad_values_are_refused_and_nothing_changes(fields, field):
    r = ResidentFactory()
    services.preferences_update(resident=r, digest_hour=8)
    with pytest.raises(services.PreferenceInvalid) as exc:
        services.preferences_update(resident=r, **{"digest": "daily", **fields})
    assert exc.value.field == field
    prefs = NotificationPreferences.objects.get(pk=r.pk)
    assert (prefs.digest, prefs.digest_hour) == ("weekly", 8)


def test_api_get_and_patch(resident_client):
    assert resident_client.get("/api/notifications/preferences/").json()["digest"] == "weekly"
    body = resident_client.patch(
        "/api/notifications/preferences/", {"digest": "daily", "digest_hour": 0, "email_messages": False}, format="json"
    ).json()
    assert (body["digest"], body["digest_hour"], body["email_messages"]) == ("daily", 0, False)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": -3}, "digest_hour"),
        ({"time_zone": "Nowhere/Land"}, "time_zone"),
        ({"digest_weekday": 9}, "digest_weekday"),
    ],
)
def test_api_bad_input_is_a_clear_400(resident_client, payload, field):
    resp = resident_client.patch("/api/notifications/preferences/", payload, format="json")
    assert resp.status_code == 400
    body = resp.json()
    assert body["field"] == field and body["code"] == "invalid_preference" and body["detail"]


def test_api_wrong_types_are_400(resident_client):
    resp = resident_client.patch("/api/notifications/preferences/", {"digest_hour": "noon"}, format="json")
    assert resp.status_code == 400 and "digest_hour" in resp.json()


def test_api_needs_login(api_client):
    assert api_client.get("/api/notifications/preferences/").status_code == 403


def test_page_saves_and_shows_errors(client):
    r = ResidentFactory()
    client.force_login(r)
    url = reverse("notifications:preferences")
    assert client.get(url).status_code == 200
    form = {
        "digest": "daily",
        "digest_hour": "25",
        "digest_weekday": "0",
        "time_zone": "Asia/Shanghai",
        "email_messages": "on",
    }
    resp = client.post(url, form)
    assert resp.status_code == 400
    assert "from 0 to 23" in resp.content.decode()
    resp = client.post(url, {**form, "digest_hour": "6", "time_zone": "Atlantis/Capital"})
    assert resp.status_code == 400 and "Atlantis/Capital" in resp.content.decode()
    resp = client.post(url, {**form, "digest_hour": "6", "time_zone": "Europe/Berlin"})
    assert resp.status_code == 302
    prefs = NotificationPreferences.objects.get(pk=r.pk)
    assert (prefs.digest, prefs.digest_hour, prefs.time_zone) == ("daily", 6, "Europe/Berlin")
    assert prefs.email_messages and not prefs.email_deals and not prefs.email_moderation


def test_page_needs_login(client):
    assert client.get(reverse("notifications:preferences")).status_code == 302
