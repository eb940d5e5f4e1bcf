"""Moderation's decisions reach trust: a ban stops vouches, reviews and deals counting; an appeal
granted brings them back; penalty points lower the stored reputation at once."""

import pytest

from apps.moderation import services as moderation
from apps.trust import rules, services
from tests.trust.factories import deal, moderator, neighbour

pytestmark = pytest.mark.django_db


def test_a_ban_and_a_granted_appeal_move_residency_and_reputation(shop, shop_stall):
    voucher, *_others = [neighbour(verified=True) for _ in range(4)]
    newcomer = neighbour()
    services.vouch_give(voucher=voucher, vouchee=newcomer)
    services.vouch_give(voucher=_others[0], vouchee=newcomer)
    services.review_write(author=voucher, deal=deal(shop_stall, voucher), stars=5)
    newcomer.refresh_from_db()
    shop.refresh_from_db()
    assert newcomer.is_verified_resident and shop.reputation > rules.REPUTATION_NEUTRAL

    decision = moderation.resident_ban_for(resident=voucher, moderator=moderator(), reason="Sold fake rice")
    newcomer.refresh_from_db()
    shop.refresh_from_db()
    assert not newcomer.is_verified_resident
    assert shop.reputation == rules.REPUTATION_NEUTRAL

    voucher.refresh_from_db()
    appeal = moderation.appeal_file(decision=decision, appellant=voucher, text="It was real rice")
    moderation.appeal_decide(appeal=appeal, moderator=moderator(), grant=True, answer="Lab test: real rice")
    newcomer.refresh_from_db()
    shop.refresh_from_db()
    assert newcomer.is_verified_resident
    assert shop.reputation > rules.REPUTATION_NEUTRAL
