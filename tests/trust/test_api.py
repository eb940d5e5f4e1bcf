"""The trust API: every rule answers with clear 4xx JSON, and nothing changes on bad input."""

import pytest
from django.urls import reverse

from apps.shops import pledges
from apps.trust import services
from apps.trust.models import Deal, PledgeClaim, ResidencyLetter, Review, Vouch
from tests.trust.factories import FAR, deal, moderator, neighbour, talk_about
from tests.trust.test_residency import ADDRESS

pytestmark = pytest.mark.django_db


def as_(api_client, resident):
    api_client.force_authenticate(resident)
    return api_client


def test_residency_status_letter_and_code(api_client):
    resident = neighbour()
    c = as_(api_client, resident)
    body = c.get(reverse("api-trust-residency")).json()
    assert body["verified"] is False and body["letter"] is None
    assert body["vouches"] == 0 and body["vouches_needed"] == 1
    assert "Vouch for neighbours" in body["unverified_cannot"]

    r = c.post(reverse("api-trust-letter"), {"postal_address": "x"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "postal_address"
    r = c.post(reverse("api-trust-letter"), {}, format="json")
    assert r.status_code == 400 and "postal_address" in r.json()
    assert not ResidencyLetter.objects.exists()
    r = c.post(reverse("api-trust-letter"), {"postal_address": ADDRESS}, format="json")
    assert r.status_code == 201 and r.json()["letter"]["status"] == "requested"

    _batch, printed = services.residency_letters_print(
        moderator=moderator(), letter_ids=[ResidencyLetter.objects.get().pk]
    )
    r = c.post(reverse("api-trust-code"), {"letter_code": "AAAA-AAAA"}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body == {
        "detail": "That code is not right. 4 tries left.",
        "code": "code_wrong",
        "field": "letter_code",
        "letter_code": ["That code is not right. 4 tries left."],
    }
    assert c.get(reverse("api-trust-residency")).json()["letter"]["attempts_left"] == 4
    r = c.post(reverse("api-trust-code"), {"letter_code": printed[0].code}, format="json")
    assert r.status_code == 200 and r.json()["verified"] is True and r.json()["method"] == "letter"
    r = c.post(reverse("api-trust-code"), {"letter_code": printed[0].code}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_verified"


def test_locked_and_expired_codes_have_their_own_status(api_client):
    from datetime import timedelta

    from django.utils import timezone

    resident = neighbour()
    c = as_(api_client, resident)
    c.post(reverse("api-trust-letter"), {"postal_address": ADDRESS}, format="json")
    services.residency_letters_print(moderator=moderator(), letter_ids=[ResidencyLetter.objects.get().pk])
    ResidencyLetter.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = c.post(reverse("api-trust-code"), {"letter_code": "AAAA-AAAA"}, format="json")
    assert r.status_code == 410 and r.json()["code"] == "code_expired"

    c.post(reverse("api-trust-letter"), {"postal_address": ADDRESS}, format="json")
    letter = ResidencyLetter.objects.get(status="requested")
    services.residency_letters_print(moderator=moderator(), letter_ids=[letter.pk])
    for _ in range(4):
        assert c.post(reverse("api-trust-code"), {"letter_code": "AAAA-AAAA"}, format="json").status_code == 400
    r = c.post(reverse("api-trust-code"), {"letter_code": "AAAA-AAAA"}, format="json")
    assert r.status_code == 429 and r.json()["code"] == "code_locked"
    # When to come back, in the header and the body, as every 429 of the API.
    assert 0 < int(r["Retry-After"]) == r.json()["retry_after"] <= 24 * 3600
    assert "Try again in 24 hours." in r.json()["detail"]
    r = c.post(reverse("api-trust-letter"), {"postal_address": ADDRESS}, format="json")
    assert r.status_code == 429 and r.json()["code"] == "code_locked" and int(r["Retry-After"]) > 0


def test_vouch_recognise_and_the_ladder(api_client):
    me, other = neighbour(verified=True), neighbour()
    c = as_(api_client, me)
    r = c.get(reverse("api-trust-acquaintance", args=[other.pk]))
    assert r.status_code == 200 and r.json()["level"] == "stranger" and r.json()["reasons"] == []
    r = c.post(reverse("api-trust-recognise", args=[other.pk]))
    assert r.status_code == 201 and r.json()["recognised_by_you"] is True
    r = c.post(reverse("api-trust-vouch", args=[other.pk]))
    assert r.status_code == 201
    body = r.json()
    assert body["level"] == "trusted" and body["label"] == "Trusted neighbour"
    assert body["reasons"][0] == "You vouched for them"
    assert body["verified"] is True  # a small area: one vouch verified them
    r = c.post(reverse("api-trust-vouch", args=[other.pk]))
    assert r.status_code == 400 and r.json()["code"] == "vouch_refused"
    r = c.delete(reverse("api-trust-vouch", args=[other.pk]))
    assert r.status_code == 200 and r.json()["vouched_by_you"] is False


def test_vouching_for_oneself_or_far_away_is_refused(api_client):
    me = neighbour(verified=True)
    c = as_(api_client, me)
    r = c.post(reverse("api-trust-vouch", args=[me.pk]))
    assert r.status_code == 400 and r.json() == {
        "detail": "You cannot vouch for yourself.",
        "code": "vouch_refused",
        "field": "resident",
        "resident": ["You cannot vouch for yourself."],
    }
    far = neighbour(home=FAR)
    r = c.post(reverse("api-trust-vouch", args=[far.pk]))
    assert r.status_code == 400 and "next to it" in r.json()["detail"]
    unverified = neighbour()
    r = as_(api_client, unverified).post(reverse("api-trust-vouch", args=[far.pk]))
    assert r.status_code == 403 and r.json()["code"] == "not_verified"
    assert not Vouch.objects.exists()
    assert api_client.post(reverse("api-trust-vouch", args=[999999])).status_code == 404


def test_deals_reviews_and_replies(api_client, shop, shop_stall, seller, buyer):
    conversation = talk_about(shop_stall, buyer)
    c = as_(api_client, seller)
    r = c.post(reverse("api-trust-deals"), {"conversation": conversation.pk, "price": "-1"}, format="json")
    assert r.status_code == 400 and not Deal.objects.exists()
    r = c.post(reverse("api-trust-deals"), {"conversation": conversation.pk, "quantity": 2}, format="json")
    assert r.status_code == 201
    made = r.json()
    assert (made["status"], made["buyer"]["id"], made["shop"], made["quantity"]) == ("proposed", buyer.pk, shop.pk, 2)

    r = c.post(reverse("api-trust-deal-confirm", args=[made["id"]]))
    assert r.status_code == 403 and r.json()["code"] == "not_allowed"
    c = as_(api_client, buyer)
    r = c.post(reverse("api-trust-deal-review", args=[made["id"]]), {"stars": 5}, format="json")
    assert r.status_code == 400 and "confirmed" in r.json()["detail"]
    r = c.post(reverse("api-trust-deal-confirm", args=[made["id"]]))
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = c.post(reverse("api-trust-deal-review", args=[made["id"]]), {"stars": 6}, format="json")
    assert r.status_code == 400 and "stars" in r.json()
    r = c.post(reverse("api-trust-deal-review", args=[made["id"]]), {"stars": 4, "text": "Sweet"}, format="json")
    assert r.status_code == 201 and r.json()["direction"] == "of_seller"
    review_id = r.json()["id"]
    r = c.post(reverse("api-trust-deal-review", args=[made["id"]]), {"stars": 1}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "already_reviewed"
    assert Review.objects.count() == 1

    r = c.post(reverse("api-trust-review-reply", args=[review_id]), {"text": "Me again"}, format="json")
    assert r.status_code == 403
    c = as_(api_client, seller)
    r = c.post(reverse("api-trust-review-reply", args=[review_id]), {"text": "Thank you!"}, format="json")
    assert r.status_code == 200 and r.json()["reply"] == "Thank you!"
    assert "deal" not in r.json()  # the public shape keeps the deal private

    api_client.force_authenticate(None)
    reviews = api_client.get(reverse("api-trust-shop-reviews", args=[shop.pk])).json()["results"]
    assert [(x["stars"], x["reply"]) for x in reviews] == [(4, "Thank you!")]
    rep = api_client.get(reverse("api-trust-shop-reputation", args=[shop.pk])).json()
    assert rep["score"] == rep["stored_score"] > 50
    assert [line["key"] for line in rep["why"]] == ["rating", "deals", "repeat", "pledges"]
    assert rep["reviewers"] == 1 and rep["deals_counted"] == 1


def test_deals_are_private_to_their_parties(api_client, own_stall, buyer):
    made = deal(own_stall, buyer)
    c = as_(api_client, neighbour())
    assert c.get(reverse("api-trust-deal", args=[made.pk])).status_code == 403
    assert c.post(reverse("api-trust-deal-review", args=[made.pk]), {"stars": 5}, format="json").status_code == 403
    assert c.get(reverse("api-trust-deals")).json()["results"] == []
    c = as_(api_client, buyer)
    assert [d["id"] for d in c.get(reverse("api-trust-deals")).json()["results"]] == [made.pk]


def test_claims_through_the_api(api_client, shop_stall, seller, buyer):
    made = deal(shop_stall, buyer)
    c = as_(api_client, buyer)
    url = reverse("api-trust-deal-claim", args=[made.pk])
    r = c.post(url, {"kind": pledges.COUNTERFEIT, "text": "Fake"}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "pledge_not_offered" and r.json()["field"] == "kind"
    r = c.post(url, {"kind": "nonsense", "text": "Fake"}, format="json")
    assert r.status_code == 400 and "kind" in r.json()
    assert not PledgeClaim.objects.exists()
    r = c.post(url, {"kind": pledges.RETURNS, "text": "Sour"}, format="json")
    assert r.status_code == 201
    claim = r.json()
    assert claim["status"] == "open" and claim["answer_by"] is not None and claim["terms"] == {"days": 7}

    r = c.post(reverse("api-trust-claim-answer", args=[claim["id"]]), {"accept": True}, format="json")
    assert r.status_code == 403
    c = as_(api_client, seller)
    r = c.post(reverse("api-trust-claim-answer", args=[claim["id"]]), {"accept": False}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "reason_required"
    r = c.post(
        reverse("api-trust-claim-answer", args=[claim["id"]]), {"accept": False, "reason": "Eaten"}, format="json"
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert [x["id"] for x in c.get(reverse("api-trust-claims")).json()["results"]] == [claim["id"]]
    c = as_(api_client, buyer)
    r = c.post(reverse("api-trust-claim-dispute", args=[claim["id"]]), {"text": "Not eaten"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "escalated" and r.json()["escalation"] == "disputed"
    assert as_(api_client, neighbour()).get(reverse("api-trust-claim", args=[claim["id"]])).status_code == 403


def test_privacy_preference(api_client):
    me = neighbour()
    c = as_(api_client, me)
    assert c.get(reverse("api-trust-privacy")).json() == {"share_acquaintances": False}
    r = c.put(reverse("api-trust-privacy"), {"share_acquaintances": True}, format="json")
    assert r.json() == {"share_acquaintances": True}
    assert c.put(reverse("api-trust-privacy"), {}, format="json").status_code == 400


def test_anonymous_visitors_see_only_public_reputation_and_reviews(api_client, shop):
    assert api_client.get(reverse("api-trust-shop-reputation", args=[shop.pk])).status_code == 200
    assert api_client.get(reverse("api-trust-shop-reviews", args=[shop.pk])).status_code == 200
    assert api_client.get(reverse("api-trust-residency")).status_code == 403
    assert api_client.get(reverse("api-trust-deals")).status_code == 403


def test_the_schema_documents_the_trust_api(api_client):
    as_(api_client, neighbour())
    r = api_client.get(reverse("api-schema"), {"format": "json"})
    paths = r.json()["paths"]
    for path in (
        "/api/trust/residency/code/",
        "/api/trust/residents/{id}/vouch/",
        "/api/trust/deals/",
        "/api/trust/deals/{id}/reviews/",
        "/api/trust/deals/{id}/claims/",
        "/api/trust/claims/{id}/dispute/",
        "/api/trust/shops/{id}/reputation/",
    ):
        assert path in paths, path
