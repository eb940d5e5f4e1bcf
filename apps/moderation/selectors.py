"""Reads of moderation: the queue, a reporter's record, a shop's standing, what a resident may see
of the decisions about them, and the moderators' dashboard."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Count, Q, QuerySet, Sum, Value, When
from django.db.models import Case as SqlCase
from django.utils import timezone

from . import areas, rules
from .models import Appeal, AuditEntry, Case, Decision, Report

# What a moderator decided against someone; automatic steps (a hold pending review, a suspension
# that points brought) are not appealed themselves: the decision behind them is.
APPEALABLE_ACTIONS = (
    Decision.Action.HIDE,
    Decision.Action.WARN,
    Decision.Action.POINTS,
    Decision.Action.SUSPEND,
    Decision.Action.BAN,
)
SHOP_SANCTIONS = (Decision.Action.WARN, Decision.Action.POINTS, Decision.Action.SUSPEND)


# --- Reporters ---------------------------------------------------------------------------------


def reporter_record(*, reporter) -> tuple[int, int]:
    """(upheld, decided) over the reporter's past reports that moderators decided."""
    row = Report.objects.filter(
        reporter=reporter, case__status__in=[Case.Status.UPHELD, Case.Status.DISMISSED]
    ).aggregate(decided=Count("id"), upheld=Count("id", filter=Q(case__status=Case.Status.UPHELD)))
    return row["upheld"] or 0, row["decided"] or 0


def reports_of(*, reporter) -> QuerySet:
    """A reporter's own reports with their case, for "my reports" (the outcome is the case's state)."""
    return Report.objects.filter(reporter=reporter).select_related("case").order_by("-created_at", "-id")


def report_outcome(report: Report) -> str:
    """pending | hidden_pending_review | action_taken | no_action"""
    case = report.case
    if case.status == Case.Status.UPHELD:
        return "action_taken"
    if case.status == Case.Status.DISMISSED:
        return "no_action"
    return "hidden_pending_review" if case.auto_hidden_at else "pending"


# --- Decisions a resident may read and appeal ----------------------------------------------------


def decisions_about(*, resident) -> QuerySet:
    """Decisions that affected the resident (or a shop they own), newest first."""
    return (
        Decision.objects.filter(Q(subject=resident) | Q(shop__owner=resident))
        .select_related("case", "shop", "appeal")
        .order_by("-created_at", "-id")
    )


def decision_appeal_deadline(decision: Decision) -> datetime:
    return decision.created_at + rules.APPEAL_WINDOW


def decision_is_appealable(decision: Decision) -> bool:
    return not decision.automatic and decision.action in APPEALABLE_ACTIONS and decision.revoked_at is None


def decision_can_appeal_now(decision: Decision, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        decision_is_appealable(decision) and not hasattr_appeal(decision) and now <= decision_appeal_deadline(decision)
    )


def hasattr_appeal(decision: Decision) -> bool:
    try:
        return decision.appeal is not None
    except Appeal.DoesNotExist:
        return False


# --- Shops' standing -----------------------------------------------------------------------------


def _points_in_window(now: datetime | None = None) -> QuerySet:
    since = (now or timezone.now()) - rules.POINTS_WINDOW
    return Decision.objects.filter(
        action=Decision.Action.POINTS, revoked_at__isnull=True, created_at__gte=since, shop__isnull=False
    )


def shop_penalty_points(*, shop, since: datetime | None = None) -> int:
    """Penalty points the shop has now (not revoked on appeal), given since `since` (default: the
    counting window, rules.POINTS_WINDOW). The trust app's reputation reads this."""
    since = since or timezone.now() - rules.POINTS_WINDOW
    qs = Decision.objects.filter(
        shop=shop, action=Decision.Action.POINTS, revoked_at__isnull=True, created_at__gte=since
    )
    return qs.aggregate(total=Sum("points"))["total"] or 0


@functools.cache
def _shops_over_badge_loss_points() -> QuerySet:
    """`shops_without_badges` but for its window: built once per process, as the grouped query costs
    ten times more to build than a copy of it with the window added (the pledges' query of every
    feed page with shops on it holds it; docs/benchmarks.md, the feed's ninth round). The window
    goes in the WHERE clause all the same, before the grouping."""
    return (
        Decision.objects.filter(action=Decision.Action.POINTS, revoked_at__isnull=True, shop__isnull=False)
        .values("shop_id")
        .annotate(total=Sum("points"))
        .filter(total__gte=rules.BADGE_LOSS_POINTS)
        .values("shop_id")
    )


def shops_without_badges() -> QuerySet:
    """Ids of shops whose points cost them their pledge badges: a subquery for `shop_id__in`."""
    return _shops_over_badge_loss_points().filter(created_at__gte=timezone.now() - rules.POINTS_WINDOW)


def shop_rank_penalty_days(*, shop) -> float:
    """How many days older the shop's stalls rank in the feed (0 for a shop in good standing)."""
    return rules.rank_penalty_for(shop_penalty_points(shop=shop))


@dataclass(frozen=True)
class ShopStanding:
    points: int
    demoted_days: float
    badges_lost: bool
    suspended_until: datetime | None
    sanctions: list[Decision]

    @property
    def is_clean(self) -> bool:
        return not self.sanctions and not self.points and self.suspended_until is None


def shop_sanctions_recent(*, shop, within: timedelta = rules.SANCTIONS_SHOWN) -> list[Decision]:
    """Warnings, penalty points and suspensions of the last 90 days still standing, newest first."""
    since = timezone.now() - within
    return list(
        Decision.objects.filter(shop=shop, action__in=SHOP_SANCTIONS, revoked_at__isnull=True, created_at__gte=since)
        .select_related("case", "appeal")
        .order_by("-created_at", "-id")
    )


def shop_standing(*, shop) -> ShopStanding:
    """Points and the sanctions to show, from one query (the shop page shows it)."""
    now = timezone.now()
    since = now - max(rules.POINTS_WINDOW, rules.SANCTIONS_SHOWN)
    rows = list(
        Decision.objects.filter(shop=shop, action__in=SHOP_SANCTIONS, revoked_at__isnull=True, created_at__gte=since)
        .select_related("case", "appeal")
        .order_by("-created_at", "-id")
    )
    points = sum(
        d.points for d in rows if d.action == Decision.Action.POINTS and d.created_at >= now - rules.POINTS_WINDOW
    )
    return ShopStanding(
        points=points,
        demoted_days=rules.rank_penalty_for(points),
        badges_lost=points >= rules.BADGE_LOSS_POINTS,
        suspended_until=shop.suspended_until if shop.suspended_until and shop.suspended_until > now else None,
        sanctions=[d for d in rows if d.created_at >= now - rules.SANCTIONS_SHOWN],
    )


# --- The moderators' queues ----------------------------------------------------------------------


def cases_for_moderator(*, moderator, now: datetime | None = None) -> QuerySet:
    """Cases of the moderator's areas, most urgent first: overdue ones (older than 48 hours and
    still open), then by urgency (weight × severity of the main reason), then oldest first."""
    now = now or timezone.now()
    overdue = SqlCase(
        When(status=Case.Status.OPEN, opened_at__lt=now - rules.OVERDUE, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    return (
        areas.scope_by_area(Case.objects.all(), moderator)
        .annotate(is_overdue=overdue)
        .select_related("subject", "shop", "decided_by")
        .order_by("-is_overdue", "-urgency", "opened_at", "pk")
    )


def appeals_for_moderator(*, moderator) -> QuerySet:
    return (
        areas.scope_by_area(Appeal.objects.all(), moderator)
        .select_related("decision", "decision__case", "decision__moderator", "appellant", "decided_by")
        .order_by(
            SqlCase(When(status=Appeal.Status.PENDING, then=Value(0)), default=Value(1)),
            "created_at",
            "pk",
        )
    )


@dataclass(frozen=True)
class Dashboard:
    open_by_age: list[tuple[str, int]]
    overdue: int
    hidden_pending: int
    appeals_pending: int
    actions_this_week: list[tuple[str, int]]
    decisions_this_week: int


def dashboard_for(*, moderator, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    open_cases = areas.scope_by_area(Case.objects.filter(status=Case.Status.OPEN), moderator)
    buckets = [
        ("< 24 h", Q(opened_at__gte=now - timedelta(hours=24))),
        ("24–48 h", Q(opened_at__lt=now - timedelta(hours=24), opened_at__gte=now - rules.OVERDUE)),
        ("> 48 h", Q(opened_at__lt=now - rules.OVERDUE)),
    ]
    counts = open_cases.aggregate(
        **{f"b{i}": Count("id", filter=q) for i, (_label, q) in enumerate(buckets)},
        hidden=Count("id", filter=Q(auto_hidden_at__isnull=False)),
    )
    week = now - timedelta(days=7)
    actions = (
        areas.scope_by_area(AuditEntry.objects.filter(created_at__gte=week), moderator)
        .values("action")
        .annotate(n=Count("id"))
        .order_by("-n", "action")
    )
    decisions = areas.scope_by_area(Decision.objects.filter(created_at__gte=week), moderator).count()
    appeals = areas.scope_by_area(Appeal.objects.filter(status=Appeal.Status.PENDING), moderator).count()
    return Dashboard(
        open_by_age=[(label, counts[f"b{i}"]) for i, (label, _q) in enumerate(buckets)],
        overdue=counts["b2"],
        hidden_pending=counts["hidden"],
        appeals_pending=appeals,
        actions_this_week=[(row["action"], row["n"]) for row in actions],
        decisions_this_week=decisions,
    )


def history_of(*, obj) -> tuple[QuerySet, QuerySet]:
    """The cases and the audit entries about one object: its moderation history."""
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(obj)
    return (
        Case.objects.filter(content_type=ct, object_id=obj.pk).order_by("-opened_at"),
        AuditEntry.objects.filter(content_type=ct, object_id=obj.pk).select_related("actor"),
    )


@dataclass(frozen=True)
class OtherQueues:
    shops_to_verify: int
    claims_escalated: int
    letters_to_print: int


def other_queues_for(*, moderator) -> OtherQueues:
    """The shops' and trust's queues that moderators work too, counted for the moderator's areas."""
    from apps.shops.models import Shop
    from apps.trust.models import PledgeClaim, ResidencyLetter

    return OtherQueues(
        shops_to_verify=areas.scope_located(
            Shop.objects.filter(is_verified=False).exclude(licence_number=""), moderator
        ).count(),
        claims_escalated=areas.scope_located(
            PledgeClaim.objects.filter(status=PledgeClaim.Status.ESCALATED), moderator, "shop__"
        ).count(),
        letters_to_print=areas.scope_located(
            ResidencyLetter.objects.filter(status=ResidencyLetter.Status.REQUESTED), moderator, "resident__"
        ).count(),
    )
