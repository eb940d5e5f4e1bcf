"""Trust pages: residency, profiles' trust panel, stall seller cards, conversations, deals, claims."""

import pytest
from django.urls import reverse

from apps.shops import pledges
from apps.trust import selectors, services
from apps.trust.models import Deal, PledgeClaim, ResidencyLetter, Review, Vouch
from tests.market.factories import publish
from tests.trust.factories import deal, moderator, neighbour, talk_about
from tests.trust.test_residency import ADDRESS

pytestmark = pytest.mark.django_db


def logged_in(client, resident):
    client.force_login(resident, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_residency_page_explains_what_unverified_residents_cannot_do(client):
    resident = neighbour()
    page = logged_in(client, resident).get(reverse("trust:residency")).content.decode()
    assert 'data-testid="unverified-limits"' in page
    assert "Post in the neighbourhood room" in page and "Vouch for neighbours" in page
    assert "Write reviews" in page


def test_the_letter_flow_through_the_pages(client):
    resident = neighbour()
    c = logged_in(client, resident)
    response = c.post(reverse("trust:letter_request"), {"postal_address": "  "})
    assert response.status_code == 200 and "postal_address" in response.content.decode()
    assert not ResidencyLetter.objects.exists()
    response = c.post(reverse("trust:letter_request"), {"postal_address": ADDRESS})
    assert response.status_code == 302
    page = c.get(reverse("trust:residency")).content.decode()
    assert 'data-testid="letter-requested"' in page
    _batch, printed = services.residency_letters_print(
        moderator=moderator(), letter_ids=[ResidencyLetter.objects.get().pk]
    )
    response = c.post(reverse("trust:code_enter"), {"letter_code": "WRONG-CODE"})
    assert "That code is not right. 4 tries left." in response.content.decode()
    response = c.post(reverse("trust:code_enter"), {"letter_code": printed[0].code})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.is_verified_resident


def test_a_locked_letter_answers_429_with_the_time_to_wait(client):
    resident = neighbour()
    c = logged_in(client, resident)
    c.post(reverse("trust:letter_request"), {"postal_address": ADDRESS})
    services.residency_letters_print(moderator=moderator(), letter_ids=[ResidencyLetter.objects.get().pk])
    for _ in range(4):
        assert c.post(reverse("trust:code_enter"), {"letter_code": "WRONG-CODE"}).status_code == 200
    response = c.post(reverse("trust:code_enter"), {"letter_code": "WRONG-CODE"})
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 24 * 3600
    assert "this letter is locked" in response.content.decode()
    assert "Try again in 24 hours." in response.content.decode()
    response = c.post(reverse("trust:letter_request"), {"postal_address": ADDRESS})
    assert response.status_code == 429 and "Try again in 24 hours." in response.content.decode()


def test_profile_shows_the_ladder_with_reasons_and_the_vouch_button(client, own_stall, seller, buyer):
    deal(own_stall, buyer)
    page = logged_in(client, buyer).get(reverse("accounts:resident_detail", args=[seller.pk])).content.decode()
    assert 'data-level="semi"' in page
    assert "Semi-acquaintance" in page and "You bought from them once" in page and "You have chatted once" in page
    assert 'data-testid="vouch"' in page
    response = client.post(reverse("trust:vouch", args=[seller.pk]))
    assert response.status_code == 302
    assert Vouch.objects.filter(voucher=buyer, vouchee=seller).exists()
    page = client.get(reverse("accounts:resident_detail", args=[seller.pk])).content.decode()
    assert 'data-level="trusted"' in page and 'data-testid="unvouch"' in page


def test_vouching_from_a_profile_shows_the_rule_broken(client):
    me, far_away = neighbour(), neighbour()
    c = logged_in(client, me)
    page = c.get(reverse("accounts:resident_detail", args=[far_away.pk])).content.decode()
    assert 'data-testid="vouch-unverified"' in page
    response = c.post(reverse("trust:vouch", args=[far_away.pk]), follow=True)
    assert "Only verified residents can vouch" in response.content.decode()
    assert not Vouch.objects.exists()


def test_recognise_buttons(client):
    me, other = neighbour(), neighbour()
    c = logged_in(client, me)
    c.post(reverse("trust:recognise", args=[other.pk]))
    assert selectors.acquaintance(viewer=me, other=other).recognised_by_viewer
    c.post(reverse("trust:unrecognise", args=[other.pk]))
    assert not selectors.acquaintance(viewer=me, other=other).recognised_by_viewer


def test_stall_pages_show_the_sellers_standing(client, shop_stall, own_stall, buyer):
    c = logged_in(client, buyer)
    page = c.get(reverse("market:stall_detail", args=[shop_stall.pk])).content.decode()
    assert 'data-testid="reputation-score"' in page and "Reputation 50.0" in page
    page = c.get(reverse("market:stall_detail", args=[own_stall.pk])).content.decode()
    assert 'data-level="stranger"' in page and "Verified resident" in page
    assert 'data-testid="message-seller"' in page


def test_mark_a_sale_from_the_conversation_then_confirm_and_review(client, own_stall, seller, buyer):
    conversation = talk_about(own_stall, buyer)
    c = logged_in(client, seller)
    page = c.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    assert 'data-testid="mark-sale"' in page
    response = c.post(
        reverse("trust:deal_mark", args=[conversation.pk]), {"stall": own_stall.pk, "price": "250", "quantity": 1}
    )
    made = Deal.objects.get()
    assert response.status_code == 302 and response.url == reverse("trust:deal", args=[made.pk])
    assert str(made.price) == "250.00"

    c = logged_in(client, buyer)
    page = c.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    assert 'data-testid="deal-confirm-link"' in page and 'data-testid="mark-sale"' not in page
    c.post(reverse("trust:deal_action", args=[made.pk, "confirm"]))
    made.refresh_from_db()
    assert made.status == "confirmed"
    response = c.post(reverse("trust:review", args=[made.pk]), {"stars": "9", "text": "?"})
    assert response.status_code == 200 and not Review.objects.exists()
    c.post(reverse("trust:review", args=[made.pk]), {"stars": "5", "text": "Like new"})
    review = Review.objects.get()
    assert (review.stars, review.direction) == (5, "of_seller")
    response = c.post(reverse("trust:review", args=[made.pk]), {"stars": "4", "text": "again"})
    assert "already has your review" in response.content.decode()
    page = client.get(reverse("accounts:resident_detail", args=[seller.pk])).content.decode()
    assert "Like new" in page


def test_deal_pages_are_for_the_parties_only(client, own_stall, buyer):
    made = deal(own_stall, buyer)
    response = logged_in(client, neighbour()).get(reverse("trust:deal", args=[made.pk]))
    assert response.status_code == 403
    response = client.post(reverse("trust:deal_action", args=[made.pk, "confirm"]))
    assert response.status_code == 403


def test_claim_pages(client, shop, shop_stall, seller, buyer):
    made = deal(shop_stall, buyer)
    c = logged_in(client, buyer)
    page = c.get(reverse("trust:deal", args=[made.pk])).content.decode()
    assert 'data-testid="claim-form"' in page
    response = c.post(reverse("trust:claim_open", args=[made.pk]), {"kind": pledges.COUNTERFEIT, "text": "Fake"})
    assert "did not offer" in response.content.decode() and not PledgeClaim.objects.exists()
    response = c.post(reverse("trust:claim_open", args=[made.pk]), {"kind": pledges.RETURNS, "text": "Sour"})
    claim = PledgeClaim.objects.get()
    assert response.status_code == 302

    c = logged_in(client, seller)
    response = c.post(reverse("trust:claim_answer", args=[claim.pk]), {"accept": "no", "reason": ""})
    assert "Say why you reject" in response.content.decode()
    c.post(reverse("trust:claim_answer", args=[claim.pk]), {"accept": "no", "reason": "Eaten"})
    claim.refresh_from_db()
    assert claim.status == "rejected"

    c = logged_in(client, buyer)
    page = c.get(reverse("trust:claim", args=[claim.pk])).content.decode()
    assert 'data-testid="dispute-form"' in page
    c.post(reverse("trust:claim_dispute", args=[claim.pk]), {"text": "Not eaten"})
    claim.refresh_from_db()
    assert claim.status == "escalated"


def test_shops_reply_to_reviews_from_the_shop_block(client, shop, shop_stall, seller, buyer):
    from django.template import Context, Template
    from django.test import RequestFactory

    review = services.review_write(author=buyer, deal=deal(shop_stall, buyer), stars=4, text="Good")
    request = RequestFactory().get("/shops/1/")
    request.user = seller
    html = Template("{% load trust %}{% trust_shop_reputation shop %}").render(
        Context({"shop": shop, "request": request})
    )
    assert "Why this score" in html and "Good" in html and "reply-form" in html
    logged_in(client, seller).post(reverse("trust:review_reply", args=[review.pk]), {"text": "Thanks!"})
    review.refresh_from_db()
    assert review.reply == "Thanks!"


def test_my_deals_page(client, own_stall, buyer):
    deal(own_stall, buyer)
    page = logged_in(client, buyer).get(reverse("trust:deals")).content.decode()
    assert own_stall.title in page


def test_the_profile_page_reads_a_bounded_number_of_queries(client, django_assert_max_num_queries, own_stall, buyer):
    other = publish(own_stall.seller, title="Lamp", price="20")
    deal(own_stall, buyer)
    deal(other, buyer)
    c = logged_in(client, buyer)
    with django_assert_max_num_queries(45):
        c.get(reverse("accounts:resident_detail", args=[own_stall.seller_id]))


def test_a_deal_and_its_claim_are_read_by_their_parties_and_their_areas_moderators_only(client, shop, buyer):
    from tests.accounts.factories import ResidentFactory
    from tests.moderation.factories import PUDONG, superuser
    from tests.moderation.factories import moderator as area_moderator

    made = deal(publish(shop=shop, title="Lychees"), buyer)
    claim = services.claim_open(buyer=buyer, deal=made, kind=pledges.REFUND_NO_RETURN, text="Half were rotten")
    pages = [reverse("trust:deal", args=[made.pk]), reverse("trust:claim", args=[claim.pk])]
    for viewer, status in [
        (buyer, 200),
        (shop.owner, 200),
        (area_moderator(), 200),  # Jing'an, where the shop is
        (superuser(), 200),
        (area_moderator(at=PUDONG), 403),
        (ResidentFactory(is_staff=True), 403),  # staff, but no moderator
        (neighbour(), 403),
    ]:
        client.force_login(viewer)
        for url in pages:
            assert client.get(url).status_code == status, (viewer, url)
        assert ("Half were rotten" in client.get(pages[1]).content.decode()) is (status == 200)
