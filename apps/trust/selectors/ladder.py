"""The acquaintance ladder between two people, computed from their history, with its reasons.

stranger → nodding acquaintance (点头之交: both confirmed "I recognise this neighbour", or they have
chatted) → semi-acquaintance (半熟人: a confirmed deal, or chats on days more than a week apart) →
trusted neighbour (one vouches for the other). docs/trust.md has the definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.accounts.models import Resident

from ..models import Deal, Recognition, Vouch
from .chats import chat_days_between, chat_partner_ids

# Chats on days this far apart make a semi-acquaintance ("repeated conversations over more than a week").
SEMI_CHAT_SPAN_DAYS = 7


class Level(IntEnum):
    STRANGER = 0
    NODDING = 1
    SEMI = 2
    TRUSTED = 3

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])

    @property
    def key(self) -> str:
        return self.name.lower()


LEVEL_LABELS = {
    Level.STRANGER: gettext_lazy("Stranger"),
    Level.NODDING: gettext_lazy("Nodding acquaintance"),
    Level.SEMI: gettext_lazy("Semi-acquaintance"),
    Level.TRUSTED: gettext_lazy("Trusted neighbour"),
}


@dataclass
class Acquaintance:
    level: Level
    reasons: list[str] = field(default_factory=list)
    chats: int = 0
    chat_span_days: int = 0
    bought: int = 0  # the viewer bought from the other (or their shop)
    sold: int = 0  # the other bought from the viewer (or the viewer's shop)
    vouched_by_viewer: bool = False
    vouched_by_other: bool = False
    recognised_by_viewer: bool = False
    recognised_by_other: bool = False
    known_vouchers: list[Resident] = field(default_factory=list)


def _times(n: int) -> str:
    if n == 1:
        return _("once")
    if n == 2:
        return _("twice")
    return ngettext("%(n)d time", "%(n)d times", n) % {"n": n}


def _vouching(voucher: Resident, vouchee: Resident) -> bool:
    return Vouch.objects.filter(
        voucher=voucher, vouchee=vouchee, withdrawn_at__isnull=True, voucher__is_active=True
    ).exists()


def acquaintance(*, viewer: Resident, other: Resident) -> Acquaintance:
    """How the viewer and the other know each other, seen from the viewer's side."""
    if viewer.pk == other.pk:
        return Acquaintance(level=Level.STRANGER)
    a = Acquaintance(level=Level.STRANGER)
    days = chat_days_between(viewer, other)
    a.chats = len(days)
    a.chat_span_days = (max(days) - min(days)).days if days else 0
    deals = Deal.objects.filter(status=Deal.Status.CONFIRMED)
    a.bought = deals.filter(Q(seller=other) | Q(shop__owner=other), buyer=viewer).count()
    a.sold = deals.filter(Q(seller=viewer) | Q(shop__owner=viewer), buyer=other).count()
    a.vouched_by_viewer = _vouching(viewer, other)
    a.vouched_by_other = _vouching(other, viewer)
    pairs = set(
        Recognition.objects.filter(
            Q(resident=viewer, recognised=other) | Q(resident=other, recognised=viewer)
        ).values_list("resident_id", flat=True)
    )
    a.recognised_by_viewer = viewer.pk in pairs
    a.recognised_by_other = other.pk in pairs

    if a.vouched_by_viewer or a.vouched_by_other:
        a.level = Level.TRUSTED
    elif a.bought or a.sold or (a.chats >= 2 and a.chat_span_days > SEMI_CHAT_SPAN_DAYS):
        a.level = Level.SEMI
    elif a.chats or (a.recognised_by_viewer and a.recognised_by_other):
        a.level = Level.NODDING

    reasons = a.reasons
    if a.vouched_by_viewer:
        reasons.append(_("You vouched for them"))
    if a.vouched_by_other:
        reasons.append(_("They vouched for you"))
    if a.bought:
        reasons.append(_("You bought from them %(times)s") % {"times": _times(a.bought)})
    if a.sold:
        reasons.append(_("They bought from you %(times)s") % {"times": _times(a.sold)})
    if a.chats:
        if a.chats >= 2 and a.chat_span_days > SEMI_CHAT_SPAN_DAYS:
            reasons.append(
                _("You have chatted %(times)s, over %(days)d days")
                % {"times": _times(a.chats), "days": a.chat_span_days}
            )
        else:
            reasons.append(_("You have chatted %(times)s") % {"times": _times(a.chats)})
    if a.recognised_by_viewer and a.recognised_by_other:
        reasons.append(_("You both said you recognise each other"))
    elif a.recognised_by_other:
        reasons.append(_("They say they recognise you"))
    elif a.recognised_by_viewer:
        reasons.append(_("You said you recognise them; they have not said so yet"))

    # Vouches for them by people the viewer knows: "Li Wei vouched for them".
    known = known_ids(viewer) - {other.pk}
    if known:
        a.known_vouchers = list(
            Resident.objects.filter(
                pk__in=Vouch.objects.filter(vouchee=other, voucher_id__in=known, withdrawn_at__isnull=True).values(
                    "voucher_id"
                ),
                is_active=True,
            ).order_by("display_name")
        )
        for voucher in a.known_vouchers:
            reasons.append(_("%(name)s vouched for them") % {"name": voucher.display_name})
    return a


def known_ids(resident: Resident) -> set[int]:
    """Everyone the resident is at least a nodding acquaintance of: vouches either way, confirmed
    deals, mutual recognitions, chats. Deactivated accounts are left out."""
    ids: set[int] = set()
    vouches = Vouch.objects.filter(withdrawn_at__isnull=True)
    ids.update(vouches.filter(voucher=resident).values_list("vouchee_id", flat=True))
    ids.update(vouches.filter(vouchee=resident).values_list("voucher_id", flat=True))
    deals = Deal.objects.filter(status=Deal.Status.CONFIRMED)
    ids.update(deals.filter(buyer=resident).values_list("seller_id", flat=True))
    ids.update(deals.filter(buyer=resident, shop__isnull=False).values_list("shop__owner_id", flat=True))
    ids.update(deals.filter(Q(seller=resident) | Q(shop__owner=resident)).values_list("buyer_id", flat=True))
    mine = Recognition.objects.filter(resident=resident).values_list("recognised_id", flat=True)
    ids.update(
        Recognition.objects.filter(recognised=resident, resident_id__in=mine).values_list("resident_id", flat=True)
    )
    ids.update(chat_partner_ids(resident))
    ids.discard(resident.pk)
    if not ids:
        return ids
    return set(Resident.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))


@dataclass(frozen=True)
class Mutual:
    count: int
    names: list[str]  # only neighbours who let themselves be named, when the profile's owner does too
    hidden: int  # counted but not named


def mutual_neighbours(*, viewer: Resident, other: Resident) -> Mutual:
    """Neighbours both the viewer and the other know. Named where both the mutual neighbour and the
    other allow it (`share_acquaintances`); otherwise only counted."""
    if viewer.pk == other.pk:
        return Mutual(0, [], 0)
    both = (known_ids(viewer) & known_ids(other)) - {viewer.pk, other.pk}
    if not both:
        return Mutual(0, [], 0)
    names = []
    if other.share_acquaintances:
        names = list(
            Resident.objects.filter(pk__in=both, share_acquaintances=True)
            .order_by("display_name")
            .values_list("display_name", flat=True)
        )
    return Mutual(len(both), names, len(both) - len(names))
