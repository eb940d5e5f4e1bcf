from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.moderation import services
from apps.moderation.models import Case, Decision, Report
from tests.market.factories import make_shop, publish
from tests.moderation.factories import moderator, neighbour, reported_enough

pytestmark = pytest.mark.django_db


def client_for(resident) -> APIClient:
    client = APIClient()
    client.force_authenticate(resident)
    return client


def test_file_a_report_and_follow_its_outcome():
    stall = publish(title="Miracle cream")
    reporter = neighbour()
    api = client_for(reporter)
    response = api.post(
        "/api/reports/",
        {"kind": "stall", "object_id": stall.pk, "reason": "false_advertising", "note": "Cures nothing"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "stall" and body["title"] == "Miracle cream" and body["outcome"] == "pending"

    again = api.post("/api/reports/", {"kind": "stall", "object_id": stall.pk, "reason": "scam"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_reported"

    reported_enough(stall, n=2)
    mine = api.get("/api/reports/mine/").json()["results"]
    assert [r["outcome"] for r in mine] == ["hidden_pending_review"]
    services.case_decide(case=Case.objects.get(), moderator=moderator(), action="hide", reason="False claims")
    assert api.get("/api/reports/mine/").json()["results"][0]["outcome"] == "action_taken"


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"kind": "stall", "reason": "nonsense"}, 400, "reason"),
        ({"kind": "planet", "reason": "spam"}, 400, "kind"),
        ({"kind": "stall", "reason": "spam", "note": "x" * 501}, 400, "note"),
        ({"kind": "shop", "reason": "spam", "object_id": 987654}, 404, "object_id"),
    ],
)
def test_bad_reports_get_a_clear_4xx(payload, status, field):
    stall = publish()
    response = client_for(neighbour()).post("/api/reports/", {"object_id": stall.pk, **payload}, format="json")
    assert response.status_code == status
    assert field in response.json()
    assert not Report.objects.exists()


def test_reporting_needs_a_login_and_not_ones_own_shop():
    shop = make_shop()
    assert (
        APIClient().post("/api/reports/", {"kind": "shop", "object_id": shop.pk, "reason": "spam"}).status_code == 403
    )
    response = client_for(shop.owner).post(
        "/api/reports/", {"kind": "shop", "object_id": shop.pk, "reason": "spam"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "not_reportable"


def test_decisions_and_appeal_through_the_api():
    shop = make_shop()
    stall = publish(shop=shop)
    reported_enough(stall)
    decision = services.case_decide(
        case=Case.objects.get(), moderator=moderator(), action="points", reason="Dyed fruit", tier=2
    )
    owner = client_for(shop.owner)
    listed = owner.get("/api/moderation/decisions/").json()["results"]
    points = next(d for d in listed if d["id"] == decision.pk)
    assert points["points"] == 6 and points["can_appeal"] and points["appeal"] is None
    assert "Dyed fruit" in points["text"]

    assert (
        client_for(neighbour())
        .post(f"/api/moderation/decisions/{decision.pk}/appeal/", {"text": "Not my shop but still"}, format="json")
        .status_code
        == 404
    )
    short = owner.post(f"/api/moderation/decisions/{decision.pk}/appeal/", {"text": "no"}, format="json")
    assert short.status_code == 400 and short.json()["field"] == "text"
    ok = owner.post(
        f"/api/moderation/decisions/{decision.pk}/appeal/",
        {"text": "The colour is natural, ask the farm."},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["status"] == "pending"
    twice = owner.post(
        f"/api/moderation/decisions/{decision.pk}/appeal/", {"text": "Second appeal on the same"}, format="json"
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_appealed"
    listed = owner.get("/api/moderation/decisions/").json()["results"]
    assert next(d for d in listed if d["id"] == decision.pk)["appeal"]["status"] == "pending"


def test_appeal_after_the_window_is_refused():
    person = neighbour()
    decision = services.resident_suspend_for(resident=person, moderator=moderator(), days=2, reason="Insults")
    Decision.objects.filter(pk=decision.pk).update(created_at=timezone.now() - timedelta(days=15))
    response = client_for(person).post(
        f"/api/moderation/decisions/{decision.pk}/appeal/", {"text": "I only just saw this decision"}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "appeal_window_closed"


def test_the_schema_documents_the_moderation_api():
    schema = client_for(neighbour()).get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/reports/", "/api/reports/mine/", "/api/moderation/decisions/"):
        assert path in schema["paths"]
    assert "/api/moderation/decisions/{id}/appeal/" in schema["paths"]
