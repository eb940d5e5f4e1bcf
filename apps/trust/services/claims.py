"""Pledge claims: a buyer invokes a shop's pledge on a confirmed deal; the shop answers; moderators
decide what the shop left unanswered or the buyer disputed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Resident
from apps.core.errors import NotAllowed
from apps.moderation import areas
from apps.moderation.audit import audit_record
from apps.notifications.kinds import Kind
from apps.notifications.services import notification_send_many
from apps.shops import pledges
from apps.shops.selectors import pledge_in_force

from .. import rules, selectors
from ..errors import ClaimRefused, ClaimState, ClaimWindowClosed, PledgeNotOffered, ReasonRequired
from ..models import Deal, PledgeClaim
from .reputation import reputation_recompute

TEXT_MAX = 2000


def _text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ReasonRequired(message, field=field)
    if len(value) > TEXT_MAX:
        raise ClaimRefused(_("At most 2000 characters."), field=field)
    return value


@transaction.atomic
def claim_open(*, buyer: Resident, deal: Deal, kind: str, text: str) -> PledgeClaim:
    """The buyer of a confirmed deal with a shop invokes one of the pledges the shop had in force
    when the deal was made, within the pledge's window."""
    deal = Deal.objects.select_for_update(of=("self",)).select_related("shop").get(pk=deal.pk)
    if deal.buyer_id != buyer.pk:
        raise NotAllowed(_("Only the buyer can invoke a pledge on this deal."))
    if deal.shop_id is None:
        raise ClaimRefused(_("Pledges are shops' promises; this deal was with a neighbour."))
    if not deal.is_confirmed:
        raise ClaimRefused(_("Confirm the deal first; pledges apply to confirmed deals."))
    kind_def = pledges.CATALOGUE.get(kind)
    if kind_def is None:
        raise PledgeNotOffered(_("There is no pledge of this kind."), field="kind")
    pledge = pledge_in_force(shop=deal.shop, kind=kind, at=deal.created_at)
    if pledge is None:
        raise PledgeNotOffered(
            _("%(shop)s did not offer “%(pledge)s” when you bought this.")
            % {"shop": deal.shop.name, "pledge": kind_def.title},
            field="kind",
        )
    closes = deal.created_at + selectors.claim_window(kind=kind, terms=pledge.terms)
    if timezone.now() > closes:
        raise ClaimWindowClosed(
            _("The window for this pledge closed on %(date)s.")
            % {"date": formats.date_format(timezone.localtime(closes), "DATETIME_FORMAT")},
            field="kind",
        )
    if kind == pledges.REFUND_NO_RETURN and deal.price is not None:
        limit = Decimal(str(pledge.terms.get("amount", "0")))
        if deal.price * deal.quantity > limit:
            raise PledgeNotOffered(
                _("This pledge covers purchases under ¥%(amount)s.") % {"amount": format(limit.normalize(), "f")},
                field="kind",
            )
    text = _text(text, "text", _("Say what went wrong."))
    if PledgeClaim.objects.filter(deal=deal, pledge=pledge).exists():
        raise ClaimState(_("You have already invoked this pledge on this deal."), field="kind")
    try:
        with transaction.atomic():
            claim = PledgeClaim.objects.create(deal=deal, pledge=pledge, shop=deal.shop, buyer=buyer, text=text)
    except IntegrityError:
        raise ClaimState(_("You have already invoked this pledge on this deal."), field="kind") from None
    notification_send_many(
        recipient_ids=list(selectors.shop_side_ids(deal.shop)),
        kind=Kind.PLEDGE_CLAIM,
        params={"title": deal.title},
        url=reverse("trust:claim", args=[claim.pk]),
    )
    return claim


def _claim_for_update(claim: PledgeClaim) -> PledgeClaim:
    return PledgeClaim.objects.select_for_update(of=("self",)).select_related("shop", "deal").get(pk=claim.pk)


@transaction.atomic
def claim_answer(*, actor: Resident, claim: PledgeClaim, accept: bool, reason: str = "") -> PledgeClaim:
    """The shop honours the claim, or rejects it with a reason."""
    claim = _claim_for_update(claim)
    if actor.pk not in selectors.shop_side_ids(claim.shop):
        raise NotAllowed(_("Only the shop's owner and staff can answer a claim."))
    if claim.status != PledgeClaim.Status.OPEN:
        raise ClaimState(_("This claim has already been answered or is with the moderators."))
    if accept:
        reason = (reason or "").strip()[:TEXT_MAX]
    else:
        reason = _text(reason, "reason", _("Say why you reject the claim; the buyer and moderators will read it."))
    claim.status = PledgeClaim.Status.ACCEPTED if accept else PledgeClaim.Status.REJECTED
    claim.answered_at = timezone.now()
    claim.answered_by = actor
    claim.answer_reason = reason
    claim.save(update_fields=["status", "answered_at", "answered_by", "answer_reason"])
    if accept:
        reputation_recompute(shop=claim.shop)
    return claim


@transaction.atomic
def claim_dispute(*, buyer: Resident, claim: PledgeClaim, text: str) -> PledgeClaim:
    """The buyer disagrees with a rejection: the claim goes to the moderators."""
    claim = _claim_for_update(claim)
    if claim.buyer_id != buyer.pk:
        raise NotAllowed(_("Only the buyer can dispute this claim."))
    if claim.status != PledgeClaim.Status.REJECTED:
        raise ClaimState(_("Only a rejected claim can be disputed."))
    if timezone.now() > claim.answered_at + rules.CLAIM_DISPUTE_WITHIN:
        raise ClaimWindowClosed(_("Disputes are possible for 7 days after the shop's answer."))
    text = _text(text, "text", _("Say why you disagree with the shop."))
    now = timezone.now()
    claim.status = PledgeClaim.Status.ESCALATED
    claim.disputed_at = now
    claim.dispute_text = text
    claim.escalated_at = now
    claim.escalation = PledgeClaim.Escalation.DISPUTED
    claim.save(update_fields=["status", "disputed_at", "dispute_text", "escalated_at", "escalation"])
    return claim


@transaction.atomic
def claims_escalate_overdue(*, now: datetime | None = None) -> int:
    """Periodic: open claims the shop left unanswered for 3 days go to the moderators. A conditional
    update, so a second run or a redelivered task does nothing more."""
    now = now or timezone.now()
    return selectors.claims_overdue(now=now).update(
        status=PledgeClaim.Status.ESCALATED, escalated_at=now, escalation=PledgeClaim.Escalation.UNANSWERED
    )


@transaction.atomic
def claim_resolve(*, moderator: Resident, claim: PledgeClaim, upheld: bool, reason: str) -> PledgeClaim:
    """A moderator decides an escalated claim: upheld (the shop broke its pledge, counted against it)
    or dismissed (the shop was right). Two moderators at once: the second is told it is decided."""
    if not moderator.has_perm("trust.resolve_claim"):
        raise NotAllowed(_("Only moderators can decide pledge claims."))
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(_("Give a reason for this decision."), field="reason")
    claim = _claim_for_update(claim)
    if claim.status != PledgeClaim.Status.ESCALATED:
        raise ClaimState(
            _("This claim is not waiting for a moderator (it is %(s)s).") % {"s": claim.get_status_display()}
        )
    if moderator.pk in selectors.shop_side_ids(claim.shop) or moderator.pk == claim.buyer_id:
        raise NotAllowed(_("Moderators cannot decide claims they are part of."))
    areas.check_located(moderator, claim.shop, _("This shop is outside the areas you moderate."))
    claim.status = PledgeClaim.Status.UPHELD if upheld else PledgeClaim.Status.DISMISSED
    claim.resolved_at = timezone.now()
    claim.resolved_by = moderator
    claim.resolution_reason = reason
    claim.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_reason"])
    reputation_recompute(shop=claim.shop)
    audit_record(
        actor=moderator,
        action="claim.uphold" if upheld else "claim.dismiss",
        obj=claim,
        object_repr=f"{claim.shop} · {claim.pledge.kind}",
        area=areas.area_of_cell(claim.shop.cell_r8),
        reason=reason,
        before={"status": PledgeClaim.Status.ESCALATED},
        after={"status": claim.status},
    )
    return claim
