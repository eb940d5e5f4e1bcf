import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.chat import services
from apps.chat.models import Block, Message
from apps.moderation.models import Report
from tests.accounts.factories import ResidentFactory
from tests.chat.conftest import png_bytes
from tests.chat.factories import StallFactory

pytestmark = pytest.mark.django_db


def client_for(resident):
    client = APIClient()
    client.force_authenticate(resident)
    return client


def url(conversation, tail="messages/"):
    return f"/api/chat/conversations/{conversation.pk}/{tail}"


def test_anonymous_users_get_nothing(direct):
    client = APIClient()
    assert client.get("/api/chat/conversations/").status_code == 403
    assert client.get(url(direct)).status_code == 403
    assert client.post(url(direct), {"client_id": "a", "body": "hi"}, format="json").status_code == 403


def test_non_members_cannot_read_or_write(direct):
    stranger = client_for(ResidentFactory())
    assert stranger.get(url(direct)).status_code == 403
    assert stranger.get(url(direct, "")).status_code == 403
    resp = stranger.post(url(direct), {"client_id": "a", "body": "hi"}, format="json")
    assert resp.status_code == 403
    assert resp.json()["code"] == "not_member"
    assert not Message.objects.exists()


def test_send_over_http_is_idempotent_on_the_client_id(alice, direct):
    client = client_for(alice)
    first = client.post(url(direct), {"client_id": "k-1", "body": "hello"}, format="json")
    assert first.status_code == 201
    assert first.json()["seq"] == 1 and first.json()["body"] == "hello"
    retry = client.post(url(direct), {"client_id": "k-1", "body": "hello"}, format="json")
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    clash = client.post(url(direct), {"client_id": "k-1", "body": "other"}, format="json")
    assert clash.status_code == 409 and clash.json()["field"] == "client_id"
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"client_id": "a", "body": ""}, "body"),
        ({"client_id": "a", "body": "x" * 2001}, "body"),
        ({"client_id": "bad id", "body": "hi"}, "client_id"),
        ({"body": "hi"}, "client_id"),
        ({"client_id": "a", "body": ["x"]}, "body"),
    ],
)
def test_bad_input_is_a_clear_400(alice, direct, payload, field):
    resp = client_for(alice).post(url(direct), payload, format="json")
    assert resp.status_code == 400
    if field:
        assert field in resp.json()
    assert not Message.objects.exists()


def test_malformed_json_is_a_400(alice, direct):
    resp = client_for(alice).post(url(direct), "{not json", content_type="application/json")
    assert resp.status_code == 400


def test_photos_are_uploaded_cleaned_and_fakes_refused(alice, direct):
    client = client_for(alice)
    ok = client.post(
        url(direct),
        {"client_id": "p1", "body": "", "photo": SimpleUploadedFile("p.png", png_bytes(), "image/png")},
        format="multipart",
    )
    assert ok.status_code == 201
    assert ok.json()["photo"].startswith("/media/chat/")
    fake = client.post(
        url(direct),
        {"client_id": "p2", "body": "", "photo": SimpleUploadedFile("p.png", b"<svg/>", "image/png")},
        format="multipart",
    )
    assert fake.status_code == 400 and fake.json()["field"] == "photo"
    assert Message.objects.count() == 1


def test_history_backwards_and_resync(alice, bob, direct):
    for i in range(5):
        services.message_send(sender=alice, conversation_id=direct.pk, body=f"m{i}", client_msg_id=f"c{i}")
    client = client_for(bob)
    page = client.get(url(direct), {"limit": 2}).json()
    assert [m["seq"] for m in page["messages"]] == [4, 5]
    assert page["has_more"] and page["last_seq"] == 5 and page["read_seq"] == 0
    older = client.get(url(direct), {"before": 4, "limit": 2}).json()
    assert [m["seq"] for m in older["messages"]] == [2, 3] and older["has_more"]
    oldest = client.get(url(direct), {"before": 2, "limit": 2}).json()
    assert [m["seq"] for m in oldest["messages"]] == [1] and not oldest["has_more"]
    resync = client.get(url(direct), {"after": 3}).json()
    assert [m["seq"] for m in resync["messages"]] == [4, 5] and not resync["has_more"]


@pytest.mark.parametrize("query", [{"after": "x"}, {"before": "-1"}, {"after": 1, "before": 3}, {"limit": "many"}])
def test_bad_cursors_are_400(alice, direct, query):
    resp = client_for(alice).get(url(direct), query)
    assert resp.status_code == 400
    assert "detail" in resp.json()


def test_list_and_read_marker(alice, bob, direct):
    services.message_send(sender=alice, conversation_id=direct.pk, body="hi", client_msg_id="a")
    client = client_for(bob)
    listed = client.get("/api/chat/conversations/").json()
    assert listed[0]["id"] == direct.pk and listed[0]["unread"] == 1 and listed[0]["title"] == "Alice"
    assert client_for(alice).get(url(direct)).json()["others_read_seq"] == 0
    assert client.post(url(direct, "read/"), {"seq": 1}, format="json").json() == {"read_seq": 1}
    assert client_for(alice).get(url(direct)).json()["others_read_seq"] == 1
    assert client.get("/api/chat/conversations/").json()[0]["unread"] == 0
    assert client.post(url(direct, "read/"), {"seq": "x"}, format="json").status_code == 400


def test_open_a_conversation_about_a_stall(alice, bob):
    stall = StallFactory(seller=bob)
    resp = client_for(alice).post("/api/chat/conversations/", {"stall_id": stall.pk}, format="json")
    assert resp.status_code == 200
    assert resp.json()["stall"] == {"id": stall.pk, "title": stall.title}
    assert client_for(alice).post("/api/chat/conversations/", {}, format="json").status_code == 400
    assert client_for(alice).post("/api/chat/conversations/", {"stall_id": 999999}, format="json").status_code == 404
    own = client_for(bob).post("/api/chat/conversations/", {"stall_id": stall.pk}, format="json")
    assert own.status_code == 400 and own.json()["code"] == "invalid_target"


def test_open_with_a_shop_and_a_resident(alice, bob, shop):
    client = client_for(alice)
    assert client.post("/api/chat/conversations/", {"shop_id": shop.pk}, format="json").json()["kind"] == "shop"
    assert client.post("/api/chat/conversations/", {"resident_id": bob.pk}, format="json").json()["kind"] == "direct"


def test_room_join_and_read_only_posting(alice):
    client = client_for(alice)
    room = client.post("/api/chat/rooms/join/", {}, format="json").json()
    assert room["kind"] == "room" and room["can_post"] is False
    resp = client.post(
        f"/api/chat/conversations/{room['id']}/messages/", {"client_id": "a", "body": "hi"}, format="json"
    )
    assert resp.status_code == 403 and resp.json()["code"] == "read_only"
    assert client_for(ResidentFactory()).post("/api/chat/rooms/join/", {}, format="json").status_code == 400
    assert client.post("/api/chat/rooms/join/", {"cell": "x"}, format="json").status_code == 400


def test_report_a_message(alice, bob, direct):
    message = services.message_send(
        sender=alice, conversation_id=direct.pk, body="send deposit first", client_msg_id="a"
    )
    client = client_for(bob)
    resp = client.post(
        f"/api/chat/messages/{message.pk}/report/", {"reason": "scam", "note": "asked for money"}, format="json"
    )
    assert resp.status_code == 201
    assert Report.objects.get().reason == "scam"
    bad = client.post(f"/api/chat/messages/{message.pk}/report/", {"reason": "ugly"}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    stranger = client_for(ResidentFactory()).post(
        f"/api/chat/messages/{message.pk}/report/", {"reason": "spam"}, format="json"
    )
    assert stranger.status_code == 403


def test_block_and_unblock(alice, bob, direct):
    client = client_for(alice)
    assert client.post("/api/chat/blocks/", {"resident_id": bob.pk}, format="json").status_code == 201
    assert client.get("/api/chat/blocks/").json()[0]["resident_id"] == bob.pk
    resp = client_for(bob).post(url(direct), {"client_id": "a", "body": "hi"}, format="json")
    assert resp.status_code == 403 and resp.json()["code"] == "blocked"
    assert client.post("/api/chat/blocks/", {"resident_id": alice.pk}, format="json").status_code == 400
    assert client.delete(f"/api/chat/blocks/{bob.pk}/").status_code == 204
    assert not Block.objects.exists()


def test_rate_limit_is_429(alice, direct, rate_limit):
    rate_limit("message_send", user=(1, 10**6))  # no window boundary falls inside the test
    client = client_for(alice)
    assert client.post(url(direct), {"client_id": "a", "body": "1"}, format="json").status_code == 201
    resp = client.post(url(direct), {"client_id": "b", "body": "2"}, format="json")
    assert resp.status_code == 429 and resp.json()["code"] == "rate_limited"


def test_schema_documents_the_chat_api(api_client):
    paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/chat/conversations/",
        "/api/chat/conversations/{id}/",
        "/api/chat/conversations/{id}/messages/",
        "/api/chat/conversations/{id}/read/",
        "/api/chat/rooms/join/",
        "/api/chat/messages/{id}/report/",
        "/api/chat/blocks/",
        "/api/chat/blocks/{resident_id}/",
    ]:
        assert path in paths
