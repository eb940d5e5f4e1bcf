"""Vouches: who may vouch for whom, the weekly limit, the residency threshold, withdrawal, bans."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Resident
from apps.notifications.models import Notification
from apps.trust import rules, selectors, services
from apps.trust.errors import NotVerified, RecognitionRefused, VouchLimit, VouchRefused
from apps.trust.models import ResidencyEvent, Vouch
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.trust.factories import FAR, neighbour

pytestmark = pytest.mark.django_db


def crowd(n: int) -> list[Resident]:
    """n verified neighbours living in the same area: not a small neighbourhood any more."""
    return [neighbour(verified=True) for _ in range(n)]


def test_two_vouches_verify_a_resident_in_an_established_area():
    vouchers = crowd(3)
    newcomer = neighbour()
    assert selectors.vouches_needed(resident=newcomer) == rules.VOUCHES_NEEDED == 2
    services.vouch_give(voucher=vouchers[0], vouchee=newcomer)
    newcomer.refresh_from_db()
    assert not newcomer.is_verified_resident
    assert Notification.objects.filter(recipient=newcomer, kind="vouch").count() == 1
    services.vouch_give(voucher=vouchers[1], vouchee=newcomer)
    newcomer.refresh_from_db()
    assert newcomer.is_verified_resident
    assert selectors.residency_method(resident=newcomer) == ResidencyEvent.Kind.VOUCHES
    assert Notification.objects.filter(recipient=newcomer, kind="residency").count() == 1


def test_one_vouch_is_enough_in_a_small_new_neighbourhood():
    first = neighbour(verified=True)
    newcomer = neighbour()
    assert selectors.verified_neighbours_count(resident=newcomer) == 1 < rules.SMALL_AREA_VERIFIED
    assert selectors.vouches_needed(resident=newcomer) == 1
    services.vouch_give(voucher=first, vouchee=newcomer)
    newcomer.refresh_from_db()
    assert newcomer.is_verified_resident


def test_vouching_for_oneself_someone_far_away_or_without_being_verified_is_refused():
    voucher = neighbour(verified=True)
    with pytest.raises(VouchRefused, match="yourself"):
        services.vouch_give(voucher=voucher, vouchee=voucher)
    far = neighbour(home=FAR)
    with pytest.raises(VouchRefused, match="next to it"):
        services.vouch_give(voucher=voucher, vouchee=far)
    with pytest.raises(NotVerified):
        services.vouch_give(voucher=neighbour(), vouchee=neighbour())
    with pytest.raises(VouchRefused, match="home area"):
        services.vouch_give(voucher=voucher, vouchee=ResidentFactory())
    assert not Vouch.objects.exists()


def test_a_neighbour_in_an_adjacent_cell_can_vouch():
    import h3

    from apps.nearby import geo

    home = h3.latlng_to_cell(JINGAN.lat, JINGAN.lng, 9)
    next_cell = next(c for c in h3.grid_ring(home, 1))
    lat, lng = h3.cell_to_latlng(next_cell)
    voucher = neighbour(home=geo.Point(lat, lng), verified=True)
    services.vouch_give(voucher=voucher, vouchee=neighbour())
    two_away = next(c for c in h3.grid_ring(home, 2))
    lat, lng = h3.cell_to_latlng(two_away)
    with pytest.raises(VouchRefused):
        services.vouch_give(voucher=neighbour(home=geo.Point(lat, lng), verified=True), vouchee=neighbour())


def test_vouching_twice_is_refused():
    voucher, vouchee = neighbour(verified=True), neighbour()
    services.vouch_give(voucher=voucher, vouchee=vouchee)
    with pytest.raises(VouchRefused, match="already"):
        services.vouch_give(voucher=voucher, vouchee=vouchee)
    assert Vouch.objects.count() == 1


def test_vouches_are_limited_per_week_and_withdrawing_does_not_reset_it():
    voucher = neighbour(verified=True)
    others = [neighbour() for _ in range(rules.VOUCHES_PER_WEEK + 1)]
    for other in others[: rules.VOUCHES_PER_WEEK]:
        services.vouch_give(voucher=voucher, vouchee=other)
    services.vouch_withdraw(voucher=voucher, vouchee=others[0])
    with pytest.raises(VouchLimit, match="a week") as refused:
        services.vouch_give(voucher=voucher, vouchee=others[-1])
    assert refused.value.status_code == 429 and 6 * 86400 < refused.value.retry_after <= 7 * 86400 + 1
    # A week later the limit has room again.
    Vouch.objects.filter(voucher=voucher).update(created_at=timezone.now() - timedelta(days=8))
    services.vouch_give(voucher=voucher, vouchee=others[-1])


def test_new_accounts_cannot_vouch_so_rings_of_new_accounts_get_nowhere():
    # Verified by a letter last week, say: still too new to vouch.
    young = neighbour(days_old=3, verified=True)
    with pytest.raises(VouchRefused, match="New accounts"):
        services.vouch_give(voucher=young, vouchee=neighbour())
    # A ring of fresh unverified accounts vouching for each other: every vouch refused.
    ring = [neighbour(days_old=1) for _ in range(4)]
    for a in ring:
        for b in ring:
            if a is not b:
                with pytest.raises((NotVerified, VouchRefused)):
                    services.vouch_give(voucher=a, vouchee=b)
    assert not Vouch.objects.exists()
    assert not Resident.objects.filter(pk__in=[r.pk for r in ring], residency_verified_at__isnull=False).exists()


def test_withdrawing_a_vouch_can_undo_a_verification_by_vouches_only():
    a, b, c = crowd(3)
    newcomer = neighbour()
    services.vouch_give(voucher=a, vouchee=newcomer)
    services.vouch_give(voucher=b, vouchee=newcomer)
    newcomer.refresh_from_db()
    assert newcomer.is_verified_resident
    services.vouch_withdraw(voucher=a, vouchee=newcomer)
    newcomer.refresh_from_db()
    assert not newcomer.is_verified_resident
    assert selectors.residency_history(resident=newcomer).first().kind == "vouches_lost"
    # Vouched again by someone else: verified again.
    services.vouch_give(voucher=c, vouchee=newcomer)
    newcomer.refresh_from_db()
    assert newcomer.is_verified_resident
    with pytest.raises(VouchRefused):
        services.vouch_withdraw(voucher=a, vouchee=newcomer)


def test_a_banned_accounts_vouches_stop_counting():
    a, b, *_others = crowd(4)
    newcomer = neighbour()
    services.vouch_give(voucher=a, vouchee=newcomer)
    services.vouch_give(voucher=b, vouchee=newcomer)
    assert selectors.vouches_counting(resident=newcomer).count() == 2
    Resident.objects.filter(pk=a.pk).update(is_active=False)
    a.refresh_from_db()
    assert selectors.vouches_counting(resident=newcomer).count() == 1
    services.trust_account_banned(resident=a)
    newcomer.refresh_from_db()
    assert not newcomer.is_verified_resident
    with pytest.raises(VouchRefused):
        services.trust_account_banned(resident=b)  # still active: nothing to do


def test_residents_verified_otherwise_keep_it_when_vouches_go():
    a, b = crowd(2)
    services.vouch_give(voucher=a, vouchee=b)  # b was verified by a moderator already
    services.vouch_withdraw(voucher=a, vouchee=b)
    b.refresh_from_db()
    assert b.is_verified_resident


def test_revoking_a_voucher_cascades_to_those_verified_by_their_vouch_alone():
    from tests.trust.factories import moderator

    first = neighbour(verified=True)
    second = neighbour()
    services.vouch_give(voucher=first, vouchee=second)  # small area: one vouch verifies
    second.refresh_from_db()
    assert second.is_verified_resident
    services.residency_decide(moderator=moderator(), resident=first, verify=False, reason="Moved away")
    second.refresh_from_db()
    assert not second.is_verified_resident


def test_recognitions_are_one_sided_until_both_say_so():
    a, b = neighbour(), neighbour()
    services.recognition_confirm(resident=a, other=b)
    with pytest.raises(RecognitionRefused):
        services.recognition_confirm(resident=a, other=b)
    with pytest.raises(RecognitionRefused):
        services.recognition_confirm(resident=a, other=a)
    services.recognition_withdraw(resident=a, other=b)
    with pytest.raises(RecognitionRefused):
        services.recognition_withdraw(resident=a, other=b)


def test_privacy_preference():
    a = neighbour()
    assert a.share_acquaintances is False
    services.acquaintance_privacy_set(resident=a, share=True)
    a.refresh_from_db()
    assert a.share_acquaintances is True
