"""Log-in lockout (django-axes) on the site, the API and the admin; and the password rules at sign-up."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.accounts.factories import TEST_PASSWORD, ResidentFactory

pytestmark = pytest.mark.django_db

LIMIT = 5


def fail(client, url, username, times, **extra):
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong-password"}, **extra)
        assert response.status_code == 200  # the form again, with its error


def test_the_site_login_locks_after_repeated_failures_and_says_when(client):
    ResidentFactory(username="lin")
    url = reverse("accounts:login")
    fail(client, url, "lin", LIMIT - 1)
    locked = client.post(url, {"username": "lin", "password": "wrong-password"})
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Too many failed log-ins for this account from your network. Try again in 15 minutes." in page
    assert reverse("accounts:password_reset") in page
    # Even the right password is refused until the wait is over.
    assert client.post(url, {"username": "lin", "password": TEST_PASSWORD}).status_code == 429


def test_the_lock_holds_one_username_from_one_address_only(client):
    ResidentFactory(username="lin")
    url = reverse("accounts:login")
    fail(client, url, "lin", LIMIT - 1, REMOTE_ADDR="198.51.100.1")
    assert client.post(url, {"username": "lin", "password": "x"}, REMOTE_ADDR="198.51.100.1").status_code == 429
    # From elsewhere the resident still gets in: an attacker cannot lock a neighbour out.
    ok = client.post(url, {"username": "lin", "password": TEST_PASSWORD}, REMOTE_ADDR="203.0.113.5")
    assert ok.status_code == 302


def test_a_successful_login_clears_the_failures(client):
    ResidentFactory(username="lin")
    url = reverse("accounts:login")
    fail(client, url, "lin", LIMIT - 1)
    assert client.post(url, {"username": "lin", "password": TEST_PASSWORD}).status_code == 302
    client.logout()
    fail(client, url, "lin", LIMIT - 1)


def test_after_the_wait_the_resident_can_log_in(client):
    ResidentFactory(username="lin")
    url = reverse("accounts:login")
    fail(client, url, "lin", LIMIT - 1)
    assert client.post(url, {"username": "lin", "password": "x"}).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(minutes=16))
    assert client.post(url, {"username": "lin", "password": TEST_PASSWORD}).status_code == 302


def test_the_api_login_locks_and_answers_json_to_programs(client):
    ResidentFactory(username="lin")
    url = "/api/auth/login/"
    fail(client, url, "lin", LIMIT - 1)
    locked = client.post(url, {"username": "lin", "password": "x"}, headers={"accept": "application/json"})
    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "locked_out" and body["retry_after"] == 900
    assert "Try again in 15 minutes." in body["detail"]
    # The browsable API's form, used by people, gets the page.
    assert "Log-in paused" in client.post(url, {"username": "lin", "password": "x"}).content.decode()


def test_the_admin_login_locks_too(client):
    ResidentFactory(username="boss", is_staff=True, is_superuser=True)
    url = reverse("admin:login")
    fail(client, url, "boss", LIMIT - 1)
    assert client.post(url, {"username": "boss", "password": "x"}).status_code == 429
    assert client.post(url, {"username": "boss", "password": TEST_PASSWORD}).status_code == 429


# --- Password rules (Django's validators, settings.AUTH_PASSWORD_VALIDATORS) ------------------------


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("k7#Qm2", "This password is too short. It must contain at least 8 characters."),
        ("iloveyou1", "This password is too common."),
        ("83920571946", "This password is entirely numeric."),
        ("meimei-liu", "The password is too similar to the username."),
    ],
)
def test_sign_up_refuses_weak_passwords_with_the_reason(client, password, says):
    response = client.post(
        reverse("accounts:sign_up"),
        {
            "username": "meimei-liu",
            "email": "meimei@example.org",
            "display_name": "Meimei",
            "language": "en",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 200
    assert says in response.context["form"].errors["password1"][0]
