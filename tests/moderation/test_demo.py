import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import Resident
from apps.moderation.models import Case

pytestmark = pytest.mark.django_db


def test_the_demo_moderator_has_the_demo_area_and_reports_to_look_at(client):
    call_command("seed_demo", "--seed", "5")
    moderator = Resident.objects.get(username="moderator")
    assert moderator.moderator_areas.count() == 7
    assert Case.objects.filter(status=Case.Status.OPEN).count() == 2
    client.force_login(moderator)
    page = client.get(reverse("admin:moderation_case_changelist"))
    assert page.status_code == 200
    for case in Case.objects.all():
        assert case.title in page.content.decode()
    assert client.get(reverse("admin:moderation_dashboard")).status_code == 200
    assert client.get(reverse("admin:shops_shop_changelist")).status_code == 200
