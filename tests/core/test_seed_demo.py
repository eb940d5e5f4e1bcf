import pytest
from django.core.management import call_command

from apps.accounts.models import Resident
from apps.market.models import Stall
from apps.shops.models import Shop

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_neighbourhood_once(capsys):
    call_command("seed_demo", "--seed", "7")
    out = capsys.readouterr().out
    assert "resident" in out and "shopkeeper" in out and "moderator" in out and "jiefang-demo-2026" in out
    residents = Resident.objects.count()
    assert residents >= 30
    assert Resident.objects.filter(home_cell__isnull=False).count() == residents
    assert Resident.objects.get(username="moderator").is_staff
    assert Stall.objects.filter(status="open").count() >= 10
    assert not Stall.objects.filter(shop__isnull=True, location_is_exact=True).exists()
    shops = Shop.objects.all()
    assert shops.count() >= 10
    assert shops.filter(owner__username="shopkeeper").exists()
    assert all(s.photos.exists() and s.hours.exists() and s.pledges.exists() for s in shops)
    assert shops.filter(is_verified=True).exists() and shops.filter(is_verified=False).exists()
    call_command("seed_demo", "--if-empty")
    assert Resident.objects.count() == residents


def test_seed_demo_is_deterministic():
    call_command("seed_demo", "--seed", "3")
    first = sorted(Resident.objects.values_list("username", "display_name", "home_cell"))
    titles = sorted(Stall.objects.values_list("title", "seller__username"))
    shops = sorted(Shop.objects.values_list("name", "owner__username", "lat", "lng"))
    Stall.objects.all().delete()
    Shop.objects.all().delete()
    Resident.objects.all().delete()
    call_command("seed_demo", "--seed", "3")
    assert sorted(Resident.objects.values_list("username", "display_name", "home_cell")) == first
    assert sorted(Stall.objects.values_list("title", "seller__username")) == titles
    assert sorted(Shop.objects.values_list("name", "owner__username", "lat", "lng")) == shops


def test_seed_demo_refuses_a_non_empty_database():
    call_command("seed_demo")
    with pytest.raises(SystemExit):
        call_command("seed_demo")
