"""Deals marked from a conversation, confirmed by the buyer; reviews on them; shops' replies."""

import pytest

from apps.chat import services as chat
from apps.core.errors import NotAllowed
from apps.notifications.models import Notification
from apps.trust import selectors, services
from apps.trust.errors import (
    AlreadyReviewed,
    DealRefused,
    DealState,
    NotVerified,
    ReviewRefused,
    SelfDeal,
)
from apps.trust.models import Deal, Review
from tests.market.factories import publish
from tests.trust.factories import deal, neighbour, say, talk_about

pytestmark = pytest.mark.django_db


def test_the_seller_marks_a_sale_from_the_conversation_and_the_buyer_confirms(own_stall, seller, buyer):
    conversation = talk_about(own_stall, buyer)
    made = services.deal_mark(seller=seller, conversation_id=conversation.pk)  # the stall pinned on it
    assert (made.stall, made.buyer, made.seller, made.status) == (own_stall, buyer, seller, "proposed")
    assert made.price == own_stall.price and made.title == own_stall.title
    assert made.conversation == conversation
    note = Notification.objects.get(recipient=buyer, kind="deal")
    assert "Wang Fang" in note.text and "Bicycle" in note.text
    services.deal_confirm(buyer=buyer, deal=made)
    made.refresh_from_db()
    assert made.status == "confirmed" and made.confirmed_at is not None
    with pytest.raises(DealState):
        services.deal_confirm(buyer=buyer, deal=made)


def test_a_shops_staff_marks_a_sale_in_the_shop_conversation(shop, shop_stall, buyer):
    staff = neighbour()
    shop.staff.add(staff)
    conversation = talk_about(shop_stall, buyer, seller=staff)
    made = services.deal_mark(seller=staff, conversation_id=conversation.pk, stall=shop_stall, price="36", quantity=2)
    assert (made.shop, made.seller, made.buyer, str(made.price), made.quantity) == (shop, staff, buyer, "36.00", 2)
    assert Notification.objects.get(recipient=buyer, kind="deal").params["seller"] == shop.name


def test_only_the_buyer_confirms_and_only_the_seller_cancels(own_stall, seller, buyer):
    made = deal(own_stall, buyer, confirm=False)
    with pytest.raises(NotAllowed):
        services.deal_confirm(buyer=seller, deal=made)
    with pytest.raises(NotAllowed):
        services.deal_cancel(seller=buyer, deal=made)
    services.deal_cancel(seller=seller, deal=made)
    with pytest.raises(DealState):
        services.deal_confirm(buyer=buyer, deal=made)
    made.refresh_from_db()
    assert made.status == "cancelled"


def test_a_deal_needs_the_buyer_to_have_written(own_stall, seller, buyer):
    conversation = chat.conversation_open_for_stall(resident=buyer, stall=own_stall)
    say(seller, conversation, "Still interested?")
    with pytest.raises(DealRefused, match="has not written"):
        services.deal_mark(seller=seller, conversation_id=conversation.pk)
    assert not Deal.objects.exists()


def test_marking_a_sale_is_refused_for_outsiders_wrong_stalls_and_rooms(own_stall, seller, buyer):
    conversation = talk_about(own_stall, buyer)
    outsider = neighbour()
    with pytest.raises(NotAllowed):
        services.deal_mark(seller=outsider, conversation_id=conversation.pk)
    # The buyer cannot mark the seller's stall as sold to themselves.
    with pytest.raises(NotAllowed):
        services.deal_mark(seller=buyer, conversation_id=conversation.pk)
    wanted = publish(seller, kind="wanted", title="Looking for a desk", price="50")
    with pytest.raises(DealRefused, match="offer something"):
        services.deal_mark(seller=seller, conversation_id=conversation.pk, stall=wanted)
    room = chat.room_join(resident=seller)
    with pytest.raises(DealRefused):
        services.deal_mark(seller=seller, conversation_id=room.pk, stall=own_stall)
    with pytest.raises(DealRefused, match="price"):
        services.deal_mark(seller=seller, conversation_id=conversation.pk, price="-3")
    with pytest.raises(DealRefused, match="quantity"):
        services.deal_mark(seller=seller, conversation_id=conversation.pk, quantity=0)
    assert not Deal.objects.exists()


def test_one_waiting_deal_per_stall_and_buyer(own_stall, seller, buyer):
    made = deal(own_stall, buyer, confirm=False)
    with pytest.raises(DealState):
        services.deal_mark(seller=seller, conversation_id=made.conversation_id)
    services.deal_decline(buyer=buyer, deal=made)
    services.deal_mark(seller=seller, conversation_id=made.conversation_id)


def test_self_deals_are_refused(shop, shop_stall, seller, buyer):
    # Chat already keeps a shop's people out of conversations with their own shop; a customer who
    # has since joined the staff is the same hands as the seller side now.
    conversation = talk_about(shop_stall, buyer)
    shop.staff.add(buyer)
    with pytest.raises(SelfDeal):
        services.deal_mark(seller=seller, conversation_id=conversation.pk, stall=shop_stall)
    assert not Deal.objects.exists()
    assert selectors.shares_an_owner(resident=seller, seller=seller, shop=None)
    assert selectors.shares_an_owner(resident=buyer, seller=seller, shop=shop)
    assert not selectors.shares_an_owner(resident=neighbour(), seller=seller, shop=shop)


# --- Reviews ------------------------------------------------------------------------------------------


def test_both_sides_review_once_the_buyers_review_is_public_the_sellers_private(shop, shop_stall, buyer, seller):
    made = deal(shop_stall, buyer)
    of_shop = services.review_write(author=buyer, deal=made, stars=5, text="Sweet lychees")
    assert (of_shop.direction, of_shop.subject, of_shop.shop, of_shop.is_public) == ("of_seller", seller, shop, True)
    of_buyer = services.review_write(author=seller, deal=made, stars="4", text="Paid on time")
    assert (of_buyer.direction, of_buyer.subject, of_buyer.shop, of_buyer.is_public) == ("of_buyer", buyer, None, False)
    with pytest.raises(AlreadyReviewed):
        services.review_write(author=buyer, deal=made, stars=1, text="changed my mind")
    assert list(selectors.reviews_public_of_shop(shop=shop)) == [of_shop]
    assert list(selectors.reviews_private_about(resident=buyer)) == [of_buyer]
    assert Notification.objects.filter(recipient=seller, kind="review").count() == 1
    shop.refresh_from_db()
    assert shop.reputation > 50


def test_reviews_need_a_confirmed_deal_a_party_and_a_verified_author(own_stall, buyer, seller):
    made = deal(own_stall, buyer, confirm=False)
    with pytest.raises(ReviewRefused, match="confirmed"):
        services.review_write(author=buyer, deal=made, stars=5)
    services.deal_confirm(buyer=buyer, deal=made)
    with pytest.raises(NotAllowed):
        services.review_write(author=neighbour(verified=True), deal=made, stars=5)
    for bad in (0, 6, "five", None, True, 4.5):
        with pytest.raises(ReviewRefused):
            services.review_write(author=buyer, deal=made, stars=bad)
    with pytest.raises(ReviewRefused):
        services.review_write(author=buyer, deal=made, stars=5, text="x" * 2001)
    assert not Review.objects.exists()

    unverified_buyer = neighbour()
    other = deal(publish(seller, title="Lamp", price="20"), unverified_buyer)
    with pytest.raises(NotVerified):
        services.review_write(author=unverified_buyer, deal=other, stars=5)
    # The seller reviewing the buyer needs no more than their own verification.
    services.review_write(author=seller, deal=other, stars=4)


def test_a_shop_replies_once_publicly(shop, shop_stall, buyer, seller):
    review = services.review_write(author=buyer, deal=deal(shop_stall, buyer), stars=2, text="Not fresh")
    with pytest.raises(NotAllowed):
        services.review_reply(actor=buyer, review=review, text="I reply to myself")
    with pytest.raises(ReviewRefused):
        services.review_reply(actor=seller, review=review, text="   ")
    services.review_reply(actor=seller, review=review, text="Sorry, come by for a fresh jin.")
    with pytest.raises(AlreadyReviewed):
        services.review_reply(actor=seller, review=review, text="And another thing")
    review.refresh_from_db()
    assert review.reply == "Sorry, come by for a fresh jin." and review.replied_by == seller
    # A review of a buyer (private) gets no reply.
    private = services.review_write(author=seller, deal=review.deal, stars=3)
    with pytest.raises(ReviewRefused):
        services.review_reply(actor=seller, review=private, text="?")


def test_no_review_of_ones_own_shop_even_after_joining_its_staff(shop, shop_stall, buyer):
    made = deal(shop_stall, buyer)
    shop.staff.add(buyer)
    with pytest.raises(SelfDeal):
        services.review_write(author=buyer, deal=made, stars=5)
