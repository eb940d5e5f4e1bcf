"""The base layout: the navigation's links are rendered once per language and process (the
"fragments" cache); what is each reader's own is rendered for each page."""

import re

import pytest
from django.core.cache import caches
from django.core.cache.utils import make_template_fragment_key
from django.urls import reverse

from apps.notifications.models import Kind
from apps.notifications.services import notification_send
from tests.accounts.factories import JINGAN, ResidentFactory

pytestmark = pytest.mark.django_db


def page(client, **headers) -> str:
    return client.get(reverse("home"), **headers).content.decode()


def csrf_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))


def test_the_bell_count_and_the_form_tokens_are_each_readers_own(client):
    busy, quiet = ResidentFactory(home=JINGAN), ResidentFactory(home=JINGAN)
    for _ in range(3):
        notification_send(
            recipient_id=busy.pk, kind=Kind.STALL_FROM_FOLLOWED_SHOP, params={"shop": "Wang's", "title": "Buns"}
        )
    client.force_login(busy)
    mine = page(client)
    assert 'data-testid="unread-count">3<' in mine
    kept = caches["fragments"].get(make_template_fragment_key("layout-nav-resident", ["en"]))
    assert kept and reverse("chat:list") in kept and "unread-count" not in kept

    client.logout()
    client.force_login(quiet)
    theirs = page(client)
    assert 'data-testid="unread-count"' not in theirs
    assert 'data-testid="logout"' in theirs and 'data-testid="nav-chat"' in theirs
    # every form of the page carries this reader's token, none carries the earlier reader's
    assert csrf_tokens(theirs) and not csrf_tokens(theirs) & csrf_tokens(mine)


def test_the_navigation_follows_the_language_and_the_login(client):
    me = ResidentFactory(home=JINGAN)
    visitor = page(client)
    assert reverse("accounts:login") in visitor and 'data-testid="logout"' not in visitor
    client.force_login(me)
    english = page(client)
    assert ">Shops</a>" in english and ">Log out<" in english
    client.post(reverse("accounts:language"), {"language": "zh-hans", "next": "/"})
    chinese = page(client)
    assert ">Shops</a>" not in chinese and ">小店</a>" in chinese
    assert 'class="link current" lang="zh-hans"' in chinese
    assert 'class="link current" lang="en"' in english


def test_the_language_switch_returns_each_reader_to_their_own_page(client):
    client.force_login(ResidentFactory(home=JINGAN))
    first = client.get(reverse("shops:list")).content.decode()
    second = client.get(reverse("home") + "?kind=free").content.decode()
    assert 'name="next" value="/shops/"' in first
    assert 'name="next" value="/?kind=free"' in second
