"""Reads of verified residency and vouches, and a resident's standing for moderation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import h3
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import Resident

from .. import rules
from ..models import Deal, ResidencyEvent, ResidencyLetter, Vouch


def vouch_area_cells(home_cell: int) -> list[int]:
    """The home cell and its six neighbours: where a resident's vouchers must live."""
    return [h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(home_cell), rules.VOUCH_RING)]


def lives_next_to(a: Resident, b: Resident) -> bool:
    return a.home_cell is not None and b.home_cell is not None and a.home_cell in vouch_area_cells(b.home_cell)


def vouches_counting(*, resident: Resident) -> QuerySet:
    """Vouches for the resident that count: not withdrawn, from an account that is still active (a
    banned account's vouches stop counting) and still verified."""
    return Vouch.objects.filter(
        vouchee=resident,
        withdrawn_at__isnull=True,
        voucher__is_active=True,
        voucher__residency_verified_at__isnull=False,
    ).select_related("voucher")


def verified_neighbours_count(*, resident: Resident) -> int:
    """Verified, active residents in the resident's vouching area, the resident not counted."""
    if resident.home_cell is None:
        return 0
    return (
        Resident.objects.filter(
            is_active=True, residency_verified_at__isnull=False, home_cell__in=vouch_area_cells(resident.home_cell)
        )
        .exclude(pk=resident.pk)
        .count()
    )


def vouches_needed(*, resident: Resident) -> int:
    """Two vouches; one where fewer than three verified neighbours live around (a small, new area)."""
    if verified_neighbours_count(resident=resident) < rules.SMALL_AREA_VERIFIED:
        return rules.VOUCHES_NEEDED_SMALL_AREA
    return rules.VOUCHES_NEEDED


def letter_open(*, resident: Resident) -> ResidencyLetter | None:
    """The resident's letter that is requested or on its way, if any."""
    return ResidencyLetter.objects.filter(resident=resident, status__in=ResidencyLetter.OPEN).first()


def letters_to_print() -> QuerySet:
    return ResidencyLetter.objects.filter(status=ResidencyLetter.Status.REQUESTED).select_related("resident")


def vouches_given_this_week(*, voucher: Resident, now: datetime | None = None) -> int:
    since = (now or timezone.now()) - timezone.timedelta(days=7)
    return Vouch.objects.filter(voucher=voucher, created_at__gt=since).count()


def vouch_active(*, voucher: Resident, vouchee: Resident) -> Vouch | None:
    return Vouch.objects.filter(voucher=voucher, vouchee=vouchee, withdrawn_at__isnull=True).first()


@dataclass(frozen=True)
class ResidencyStatus:
    verified: bool
    verified_at: datetime | None
    method: str | None  # a ResidencyEvent.Kind, how the current verification was gained
    letter: ResidencyLetter | None
    vouches: int
    vouches_needed: int
    vouchers: list[Resident]
    has_home: bool


def residency_method(*, resident: Resident) -> str | None:
    if not resident.is_verified_resident:
        return None
    event = (
        ResidencyEvent.objects.filter(resident=resident)
        .exclude(kind__in=[ResidencyEvent.Kind.REVOKED, ResidencyEvent.Kind.VOUCHES_LOST])
        .order_by("-created_at", "-pk")
        .first()
    )
    return event.kind if event else None


def residency_status(*, resident: Resident) -> ResidencyStatus:
    counting = list(vouches_counting(resident=resident))
    return ResidencyStatus(
        verified=resident.is_verified_resident,
        verified_at=resident.residency_verified_at,
        method=residency_method(resident=resident),
        letter=letter_open(resident=resident),
        vouches=len(counting),
        vouches_needed=vouches_needed(resident=resident),
        vouchers=[v.voucher for v in counting],
        has_home=resident.has_home,
    )


def residency_history(*, resident: Resident) -> QuerySet:
    return ResidencyEvent.objects.filter(resident=resident).select_related("actor")


# --- For moderation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """What a resident's word is worth, from trust's side: moderation weighs reports with it.

    - verified: residency verified (letter, vouches or a moderator).
    - vouches: vouches for them that count (see `vouches_counting`).
    - trusted_by: distinct residents who vouch for them or with whom they have a confirmed deal.
    - account_age_days: days since they joined.
    - confirmed_deals: confirmed deals as buyer or seller.
    - is_active: False once banned.
    """

    verified: bool
    vouches: int
    trusted_by: int
    account_age_days: int
    confirmed_deals: int
    is_active: bool


def reporter_standing(*, resident: Resident, now: datetime | None = None) -> Standing:
    now = now or timezone.now()
    vouchers = set(vouches_counting(resident=resident).values_list("voucher_id", flat=True))
    deals = Deal.objects.filter(Q(buyer=resident) | Q(seller=resident), status=Deal.Status.CONFIRMED)
    partners = set()
    for seller_id, buyer_id in deals.values_list("seller_id", "buyer_id"):
        partners.add(buyer_id if seller_id == resident.pk else seller_id)
    return Standing(
        verified=resident.is_verified_resident,
        vouches=len(vouchers),
        trusted_by=len(vouchers | partners),
        account_age_days=max(0, (now - resident.date_joined).days),
        confirmed_deals=deals.count(),
        is_active=resident.is_active,
    )
