"""Vouches, "I recognise this neighbour", and the acquaintance privacy preference."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.accounts.models import Resident
from apps.core.ratelimit import rate_check
from apps.notifications.kinds import Kind
from apps.notifications.services import notification_send
from apps.shops.models import Shop

from .. import rules, selectors
from ..errors import NotVerified, RecognitionRefused, VouchLimit, VouchRefused
from ..models import Deal, Recognition, Review, Vouch
from .reputation import reputation_recompute
from .residency import residency_recheck_vouched, residency_verify_if_vouched


@transaction.atomic
def vouch_give(*, voucher: Resident, vouchee: Resident) -> Vouch:
    """A verified neighbour vouches for someone living in or next to their own area.

    Counts toward the vouchee's residency (docs/trust.md: two vouches, one in a small area) and
    makes the two trusted neighbours on the ladder.
    """
    now = timezone.now()
    if voucher.pk == vouchee.pk:
        raise VouchRefused(_("You cannot vouch for yourself."), field="resident")
    if not voucher.is_verified_resident:
        raise NotVerified(_("Only verified residents can vouch for neighbours. Verify your residency first."))
    if now - voucher.date_joined < rules.VOUCHER_MIN_AGE:
        raise VouchRefused(
            _("New accounts cannot vouch yet: you can from %(date)s.")
            % {"date": formats.date_format(timezone.localtime(voucher.date_joined + rules.VOUCHER_MIN_AGE))},
        )
    if not vouchee.is_active:
        raise VouchRefused(_("This account is closed."), field="resident")
    if not voucher.has_home or not vouchee.has_home:
        raise VouchRefused(_("Vouching is between neighbours: both of you need a home area."), field="resident")
    if not selectors.lives_next_to(voucher, vouchee):
        raise VouchRefused(
            _("You can vouch only for neighbours who live in your area or right next to it."), field="resident"
        )
    # The voucher's row lock serialises their vouches: two at once cannot both pass the weekly limit.
    Resident.objects.select_for_update(of=("self",)).filter(pk=voucher.pk).first()
    if selectors.vouch_active(voucher=voucher, vouchee=vouchee) is not None:
        raise VouchRefused(_("You already vouch for them."), field="resident")
    given = selectors.vouches_given_this_week(voucher=voucher, now=now)
    if given >= rules.VOUCHES_PER_WEEK:
        oldest = (
            Vouch.objects.filter(voucher=voucher, created_at__gt=now - timezone.timedelta(days=7))
            .order_by("created_at")
            .first()
        )
        next_possible = oldest.created_at + timezone.timedelta(days=7)
        raise VouchLimit(
            ngettext(
                "You can give %(n)d vouch a week; your next one is possible from %(date)s.",
                "You can give %(n)d vouches a week; your next one is possible from %(date)s.",
                rules.VOUCHES_PER_WEEK,
            )
            % {
                "n": rules.VOUCHES_PER_WEEK,
                "date": formats.date_format(timezone.localtime(next_possible)),
            },
            retry_after=int((next_possible - now).total_seconds()) + 1,
        )
    # Besides the weekly rule per voucher: many vouchers' accounts from one address.
    rate_check("vouch_give", user=voucher)
    vouch = Vouch.objects.create(voucher=voucher, vouchee=vouchee)
    notification_send(
        recipient_id=vouchee.pk,
        kind=Kind.VOUCH,
        params={"voucher": voucher.display_name},
        url=reverse("accounts:resident_detail", args=[voucher.pk]),
    )
    residency_verify_if_vouched(resident=vouchee)
    return vouch


@transaction.atomic
def vouch_withdraw(*, voucher: Resident, vouchee: Resident) -> Vouch:
    vouch = (
        Vouch.objects.select_for_update(of=("self",))
        .filter(voucher=voucher, vouchee=vouchee, withdrawn_at__isnull=True)
        .first()
    )
    if vouch is None:
        raise VouchRefused(_("You do not vouch for them."), field="resident")
    vouch.withdrawn_at = timezone.now()
    vouch.save(update_fields=["withdrawn_at"])
    residency_recheck_vouched(resident=vouchee)
    return vouch


@transaction.atomic
def trust_account_banned(*, resident: Resident) -> None:
    """For moderation, after it deactivates an account (`is_active` False). Reads already leave the
    account out (its vouches, reviews and deals stop counting at once); this brings the stored
    results along: the residency of those it vouched for is re-checked, and the reputation of the
    shops it reviewed or bought from is recomputed."""
    if resident.is_active:
        raise VouchRefused(_("The account is still active."), field="resident")
    for vouchee in _vouchees(resident):
        residency_recheck_vouched(resident=vouchee)
    _recompute_shops_of(resident)


@transaction.atomic
def trust_account_reinstated(*, resident: Resident) -> None:
    """For moderation, after a ban is lifted (an appeal granted): the account's vouches count again,
    so those who lost their residency by the ban get it back if the vouches reach the threshold."""
    if not resident.is_active:
        raise VouchRefused(_("The account is not active."), field="resident")
    for vouchee in _vouchees(resident):
        residency_verify_if_vouched(resident=vouchee)
    _recompute_shops_of(resident)


def _vouchees(voucher: Resident):
    return Resident.objects.filter(
        vouches_received__voucher=voucher, vouches_received__withdrawn_at__isnull=True
    ).distinct()


def _recompute_shops_of(resident: Resident) -> None:
    shop_ids = set(Review.objects.filter(author=resident, shop__isnull=False).values_list("shop_id", flat=True))
    shop_ids |= set(Deal.objects.filter(buyer=resident, shop__isnull=False).values_list("shop_id", flat=True))
    for shop in Shop.objects.filter(pk__in=shop_ids):
        reputation_recompute(shop=shop)


# --- Recognitions ---------------------------------------------------------------------------------


@transaction.atomic
def recognition_confirm(*, resident: Resident, other: Resident) -> Recognition:
    """ "I recognise this neighbour". When both have said it, they are nodding acquaintances."""
    if resident.pk == other.pk:
        raise RecognitionRefused(_("That is you."), field="resident")
    if not other.is_active:
        raise RecognitionRefused(_("This account is closed."), field="resident")
    recognition, created = Recognition.objects.get_or_create(resident=resident, recognised=other)
    if not created:
        raise RecognitionRefused(_("You have already said you recognise them."), field="resident")
    return recognition


@transaction.atomic
def recognition_withdraw(*, resident: Resident, other: Resident) -> None:
    deleted, _rows = Recognition.objects.filter(resident=resident, recognised=other).delete()
    if not deleted:
        raise RecognitionRefused(_("You had not said you recognise them."), field="resident")


@transaction.atomic
def acquaintance_privacy_set(*, resident: Resident, share: bool) -> Resident:
    """Whether neighbours may see the resident's name under "neighbours you both know"."""
    resident.share_acquaintances = bool(share)
    resident.save(update_fields=["share_acquaintances"])
    return resident
