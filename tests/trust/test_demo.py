import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import Resident
from apps.trust.models import Deal, PledgeClaim, ResidencyLetter, Review, Vouch

pytestmark = pytest.mark.django_db


def test_the_demo_has_trust_to_look_at(client):
    call_command("seed_demo", "--seed", "5")
    assert Resident.objects.filter(residency_verified_at__isnull=False).count() >= 10
    assert Vouch.objects.exists()
    assert Deal.objects.filter(status="confirmed").count() >= 5
    assert Deal.objects.filter(status="proposed").exists()
    assert Review.objects.filter(direction="of_seller").exists() and Review.objects.exclude(reply="").exists()
    assert set(PledgeClaim.objects.values_list("status", flat=True)) >= {"accepted", "escalated"}
    assert ResidencyLetter.objects.filter(status="requested").count() == 1

    moderator = Resident.objects.get(username="moderator")
    client.force_login(moderator)
    for model in ("residencyletter", "pledgeclaim", "residentresidency"):
        assert client.get(reverse(f"admin:trust_{model}_changelist")).status_code == 200

    resident = Resident.objects.get(username="resident")
    client.force_login(resident)
    shopkeeper = Resident.objects.get(username="shopkeeper")
    page = client.get(reverse("accounts:resident_detail", args=[shopkeeper.pk])).content.decode()
    assert 'data-testid="ladder"' in page and "你在对方那里买过" in page  # the demo resident reads Chinese
    assert client.get(reverse("trust:deals")).status_code == 200
