"""What the API fuzzing (test_fuzz.py) found, each fixed and kept fixed here."""

import pytest

from tests.accounts.factories import JINGAN, ResidentFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

HUGE = "3378827961133070830010368"  # beyond a 64-bit row id


def test_validation_errors_have_the_documented_shape_and_keep_the_field_errors(resident_client):
    body = resident_client.get("/api/areas/snap/?lat=0").json()
    assert body["detail"] == "This field is required."
    assert body["code"] == "required" and body["field"] == "lng"
    assert body["lng"] == ["This field is required."]


def test_a_field_named_code_does_not_replace_the_error_code():
    from rest_framework.exceptions import ErrorDetail

    from apps.core.api import _validation_body

    body = _validation_body({"code": [ErrorDetail("This field is required.", "required")]})
    assert body == {"detail": "This field is required.", "code": "required", "field": "code"}


def test_not_found_answers_carry_a_code_too(resident_client):
    body = resident_client.get("/api/residents/999999/").json()
    assert body == {"detail": body["detail"], "code": "not_found"}


def test_an_id_too_big_for_the_database_is_not_found_not_a_crash(resident_client, client):
    shop = ShopFactory()
    assert resident_client.delete(f"/api/shops/{HUGE}/pledges/1/").status_code == 404
    assert resident_client.get(f"/api/shops/{shop.pk}/").status_code == 200
    client.force_login(ResidentFactory(home=JINGAN))
    assert client.get(f"/shops/{HUGE}/").status_code == 404


def test_joining_a_room_with_a_body_that_is_not_an_object_is_a_400(resident_client):
    for body in ([None, None], "cell", 7):
        response = resident_client.post("/api/chat/rooms/join/", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["code"]


def schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_paginated_lists_are_documented_as_pages(api_client):
    paths = schema(api_client)["paths"]
    for path in ("/api/notifications/", "/api/reports/mine/", "/api/moderation/decisions/", "/api/trust/deals/"):
        ref = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        component = schema(api_client)["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(component["properties"]) == {"next", "previous", "results"}, path


def test_every_operation_documents_the_errors_the_machinery_can_give(api_client):
    for path, operations in schema(api_client)["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"403", "503"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if method != "get":
                assert "429" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "415"} <= set(responses), (method, path)
