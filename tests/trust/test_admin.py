"""The moderators' side in the admin: letter batches as a PDF, residency decisions, claim decisions."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.models import Resident
from apps.shops import pledges
from apps.trust import services
from apps.trust.models import PledgeClaim, ResidencyEvent, ResidencyLetter
from tests.moderation.factories import moderator as area_moderator
from tests.trust.factories import deal, moderator, neighbour
from tests.trust.test_residency import ADDRESS, pages, pdf_text

pytestmark = pytest.mark.django_db


def staff_with(*codenames) -> Resident:
    """An area moderator of the test neighbourhood (moderation's rules), with these trust permissions."""
    user = area_moderator()
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="trust"))
    return Resident.objects.get(pk=user.pk)


def action(client, model: str, name: str, ids, **extra):
    data = {"action": name, ACTION_CHECKBOX_NAME: [str(i) for i in ids], **extra}
    return client.post(reverse(f"admin:trust_{model}_changelist"), data)


def test_a_moderator_prints_a_batch_of_letters_as_one_pdf(client, settings):
    settings.JIEFANG_SITE_URL = "https://jiefang.example"
    letters = [services.residency_letter_request(resident=neighbour(), postal_address=ADDRESS) for _ in range(3)]
    client.force_login(staff_with("print_letters"))
    page = client.get(reverse("admin:trust_residencyletter_changelist")).content.decode()
    assert "print_letters" in page
    response = action(client, "residencyletter", "print_letters", [letter.pk for letter in letters])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    pdf = response.content
    assert pages(pdf) == 3 and "https://jiefang.example" in pdf_text(pdf)
    assert ResidencyLetter.objects.filter(status="printed").count() == 3


def test_staff_without_the_permission_cannot_print(client):
    letter = services.residency_letter_request(resident=neighbour(), postal_address=ADDRESS)
    client.force_login(staff_with("view_residencyletter"))
    page = client.get(reverse("admin:trust_residencyletter_changelist")).content.decode()
    assert "print_letters" not in page
    response = action(client, "residencyletter", "print_letters", [letter.pk])
    assert response["Content-Type"] != "application/pdf"
    letter.refresh_from_db()
    assert letter.status == "requested" and not letter.code_hash


def test_residency_decisions_need_a_reason(client):
    resident = neighbour()
    client.force_login(staff_with("decide_residency"))
    response = action(client, "residentresidency", "verify_residency", [resident.pk])
    assert response.status_code == 200 and 'data-testid="reason-action"' in response.content.decode()
    response = action(client, "residentresidency", "verify_residency", [resident.pk], apply="1", reason="")
    assert 'data-testid="reason-action"' in response.content.decode()
    resident.refresh_from_db()
    assert not resident.is_verified_resident
    response = action(
        client, "residentresidency", "verify_residency", [resident.pk], apply="1", reason="Met at the fair"
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.is_verified_resident
    event = ResidencyEvent.objects.get(resident=resident)
    assert (event.kind, event.reason) == ("granted", "Met at the fair")
    action(client, "residentresidency", "revoke_residency", [resident.pk], apply="1", reason="Moved away")
    resident.refresh_from_db()
    assert not resident.is_verified_resident


def test_escalated_claims_are_decided_in_the_admin(client, shop_stall, buyer, seller):
    claim = services.claim_open(buyer=buyer, deal=deal(shop_stall, buyer), kind=pledges.RETURNS, text="Sour")
    services.claim_answer(actor=seller, claim=claim, accept=False, reason="Eaten")
    services.claim_dispute(buyer=buyer, claim=claim, text="Not eaten")
    client.force_login(moderator())
    response = action(client, "pledgeclaim", "uphold", [claim.pk], apply="1", reason="Photos show a full jin")
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "upheld" and claim.resolution_reason == "Photos show a full jin"
    # Already decided: the second decision is refused and reported, nothing changes.
    response = action(client, "pledgeclaim", "dismiss", [claim.pk], apply="1", reason="No")
    claim.refresh_from_db()
    assert claim.status == "upheld"


def test_history_is_read_only(client):
    client.force_login(moderator())
    for model in ("deal", "review", "vouch", "residencyevent", "pledgeclaim", "residencyletter"):
        assert client.get(reverse(f"admin:trust_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:trust_{model}_add")).status_code == 403
    assert PledgeClaim.objects.count() == 0
