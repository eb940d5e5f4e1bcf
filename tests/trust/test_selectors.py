"""The acquaintance ladder, neighbours you both know, and the standing moderation reads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Resident
from apps.chat import services as chat
from apps.chat.models import Message
from apps.trust import selectors, services
from apps.trust.selectors import Level
from tests.trust.factories import deal, neighbour, say

pytestmark = pytest.mark.django_db


def level(a, b) -> Level:
    return selectors.acquaintance(viewer=a, other=b).level


def test_strangers_have_no_reasons():
    a, b = neighbour(), neighbour()
    ladder = selectors.acquaintance(viewer=a, other=b)
    assert ladder.level == Level.STRANGER and ladder.reasons == []


def test_mutual_recognition_makes_nodding_acquaintances():
    a, b = neighbour(), neighbour()
    services.recognition_confirm(resident=a, other=b)
    assert level(a, b) == Level.STRANGER
    assert selectors.acquaintance(viewer=b, other=a).reasons == ["They say they recognise you"]
    services.recognition_confirm(resident=b, other=a)
    assert level(a, b) == level(b, a) == Level.NODDING


def test_chatting_makes_nodding_then_over_a_week_semi_acquaintances():
    a, b = neighbour(), neighbour()
    conversation = chat.conversation_open(resident=a, other=b)
    say(a, conversation)
    assert level(a, b) == Level.STRANGER  # one-sided: not a chat
    say(b, conversation)
    ladder = selectors.acquaintance(viewer=a, other=b)
    assert (ladder.level, ladder.chats, ladder.reasons) == (Level.NODDING, 1, ["You have chatted once"])
    # Chatted again ten days later.
    Message.objects.filter(conversation=conversation).update(created_at=timezone.now() - timedelta(days=10))
    say(a, conversation)
    say(b, conversation)
    ladder = selectors.acquaintance(viewer=b, other=a)
    assert (ladder.level, ladder.chats) == (Level.SEMI, 2)
    assert ladder.reasons == ["You have chatted twice, over 10 days"]


def test_a_confirmed_deal_makes_semi_acquaintances_and_a_vouch_trusted_neighbours(own_stall, seller, buyer):
    made = deal(own_stall, buyer, confirm=False)
    assert level(buyer, seller) == Level.NODDING  # they have chatted
    services.deal_confirm(buyer=buyer, deal=made)
    ladder = selectors.acquaintance(viewer=buyer, other=seller)
    assert ladder.level == Level.SEMI
    assert "You bought from them once" in ladder.reasons
    assert "They bought from you once" in selectors.acquaintance(viewer=seller, other=buyer).reasons
    services.vouch_give(voucher=seller, vouchee=buyer)
    ladder = selectors.acquaintance(viewer=buyer, other=seller)
    assert ladder.level == Level.TRUSTED
    assert ladder.reasons[0] == "They vouched for you"
    services.vouch_withdraw(voucher=seller, vouchee=buyer)
    assert level(buyer, seller) == Level.SEMI


def test_a_shop_conversation_counts_between_the_customer_and_who_answered(shop_stall, seller, buyer):
    deal(shop_stall, buyer, confirm=False)
    assert level(buyer, seller) == Level.NODDING
    assert selectors.chat_partner_ids(seller) == {buyer.pk}
    assert selectors.chat_partner_ids(buyer) == {seller.pk}


def test_vouches_by_people_you_know_are_reasons():
    me, friend, other = neighbour(verified=True), neighbour(verified=True, display_name="Li Wei"), neighbour()
    services.recognition_confirm(resident=me, other=friend)
    services.recognition_confirm(resident=friend, other=me)
    services.vouch_give(voucher=friend, vouchee=other)
    assert "Li Wei vouched for them" in selectors.acquaintance(viewer=me, other=other).reasons


def test_a_banned_voucher_no_longer_makes_trusted_neighbours():
    a, b = neighbour(verified=True), neighbour()
    services.vouch_give(voucher=a, vouchee=b)
    assert level(b, a) == Level.TRUSTED
    Resident.objects.filter(pk=a.pk).update(is_active=False)
    assert level(b, a) == Level.STRANGER
    assert selectors.known_ids(b) == set()


def test_neighbours_you_both_know_are_counted_and_named_where_both_allow_it():
    me, them = neighbour(), neighbour()
    shy, open_ = neighbour(display_name="Shy"), neighbour(display_name="Open")
    for mutual in (shy, open_):
        for person in (me, them):
            services.recognition_confirm(resident=person, other=mutual)
            services.recognition_confirm(resident=mutual, other=person)
    services.acquaintance_privacy_set(resident=open_, share=True)
    mutual = selectors.mutual_neighbours(viewer=me, other=them)
    assert (mutual.count, mutual.names, mutual.hidden) == (2, [], 2)  # `them` keeps their circle private
    services.acquaintance_privacy_set(resident=them, share=True)
    mutual = selectors.mutual_neighbours(viewer=me, other=them)
    assert (mutual.count, mutual.names, mutual.hidden) == (2, ["Open"], 1)


def test_reporter_standing_for_moderation(own_stall, seller, buyer):
    fresh = neighbour(days_old=2)
    standing = selectors.reporter_standing(resident=fresh)
    assert (standing.verified, standing.vouches, standing.trusted_by, standing.confirmed_deals) == (False, 0, 0, 0)
    assert standing.account_age_days == 2 and standing.is_active
    deal(own_stall, buyer)
    services.vouch_give(voucher=seller, vouchee=buyer)
    standing = selectors.reporter_standing(resident=buyer)
    assert (standing.verified, standing.vouches, standing.trusted_by, standing.confirmed_deals) == (True, 1, 1, 1)
    assert standing.account_age_days == 60


def test_the_ladder_reads_a_bounded_number_of_queries(django_assert_max_num_queries, own_stall, seller, buyer):
    deal(own_stall, buyer)
    with django_assert_max_num_queries(16):
        selectors.acquaintance(viewer=buyer, other=seller)
    with django_assert_max_num_queries(20):
        selectors.mutual_neighbours(viewer=buyer, other=seller)
