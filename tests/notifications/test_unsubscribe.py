import pytest
from django.core import signing
from django.urls import reverse

from apps.notifications import emails, services
from apps.notifications.models import NotificationPreferences
from tests.accounts.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def _url(token):
    return reverse("notifications:unsubscribe", args=[token])


def test_get_asks_and_changes_nothing(client):
    r = ResidentFactory()
    token = emails.unsubscribe_token(resident_id=r.pk, scope="digest")
    resp = client.get(_url(token))
    assert resp.status_code == 200 and b"confirm-unsubscribe" in resp.content
    assert services.preferences_of(resident_id=r.pk).digest == "weekly"


def test_one_click_without_login_turns_the_digest_off(client):
    r = ResidentFactory()
    token = emails.unsubscribe_token(resident_id=r.pk, scope="digest")
    resp = client.post(_url(token))
    assert resp.status_code == 200 and b"no more" in resp.content
    assert NotificationPreferences.objects.get(pk=r.pk).digest == "off"
    # again: still fine, and the page says it is already off
    assert client.post(_url(token)).status_code == 200
    assert b"already" in client.get(_url(token)).content


def test_rfc8058_post_from_a_mail_client(client):
    r = ResidentFactory()
    token = emails.unsubscribe_token(resident_id=r.pk, scope="email_messages")
    resp = client.post(_url(token), {"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/plain")
    prefs = NotificationPreferences.objects.get(pk=r.pk)
    assert not prefs.email_messages and prefs.email_deals and prefs.digest == "weekly"


@pytest.mark.parametrize(
    "make",
    [
        lambda r: "not-a-token",
        lambda r: emails.unsubscribe_token(resident_id=r.pk, scope="digest")[:-3] + "abc",
        lambda r: signing.dumps({"r": r.pk, "s": "digest"}, salt="some.other.salt"),
        lambda r: signing.dumps({"r": r.pk, "s": "is_staff"}, salt=emails.UNSUBSCRIBE_SALT),
        lambda r: signing.dumps({"r": "x"}, salt=emails.UNSUBSCRIBE_SALT),
        lambda r: signing.dumps({"r": 10**9, "s": "digest"}, salt=emails.UNSUBSCRIBE_SALT),
        lambda r: signing.dumps([1, 2], salt=emails.UNSUBSCRIBE_SALT),
    ],
    ids=["garbage", "tampered", "other-salt", "unknown-scope", "bad-shape", "no-such-resident", "not-a-dict"],
)
def test_invalid_or_forged_tokens_are_refused(client, make):
    r = ResidentFactory()
    token = make(r)
    for method in (client.get, client.post):
        resp = method(_url(token))
        assert resp.status_code == 400
        assert b"not valid" in resp.content
    assert NotificationPreferences.objects.filter(pk=r.pk, digest="off").count() == 0


def test_token_names_one_resident_only():
    a, b = ResidentFactory(), ResidentFactory()
    services.unsubscribe_apply(token=emails.unsubscribe_token(resident_id=a.pk, scope="digest"))
    assert services.preferences_of(resident_id=b.pk).digest == "weekly"
