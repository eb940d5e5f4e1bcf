import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.accounts.factories import ResidentFactory
from tests.shops.factories import ShopFactory, make_moderator

pytestmark = pytest.mark.django_db


def test_moderator_verifies_shops_through_the_admin_action(client):
    mod = make_moderator()
    mod.user_permissions.add(Permission.objects.get(codename="view_shop"))
    ok, no_licence = ShopFactory(name="有执照"), ShopFactory(licence_number="")
    client.force_login(mod)
    changelist = reverse("admin:shops_shop_changelist")
    page = client.get(changelist, {"q": "有执照"})
    assert page.status_code == 200 and "有执照" in page.content.decode()
    resp = client.post(changelist, {"action": "verify", "_selected_action": [ok.pk, no_licence.pk]}, follow=True)
    assert resp.status_code == 200
    ok.refresh_from_db()
    no_licence.refresh_from_db()
    assert ok.is_verified and ok.verified_by == mod
    assert not no_licence.is_verified
    text = resp.content.decode()
    assert "1 shop verified." in text and "no business licence number" in text


def test_staff_without_the_permission_cannot_verify(client):
    clerk = ResidentFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_shop"))
    clerk.user_permissions.add(Permission.objects.get(codename="change_shop"))
    shop = ShopFactory()
    client.force_login(clerk)
    client.post(reverse("admin:shops_shop_changelist"), {"action": "verify", "_selected_action": [shop.pk]})
    shop.refresh_from_db()
    assert not shop.is_verified
