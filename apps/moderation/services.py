"""Every moderation write: filing reports (and hiding what enough trusted neighbours report),
moderators' decisions on cases, sanctions on shops and people, appeals, and moderators' areas.

The site, the API and the admin all come through here. Every decision checks the moderator's area,
requires a reason, is claimed by a conditional update (two moderators acting at once: one wins, the
other is told), writes the audit log in the same transaction, and tells the people it affects.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Resident
from apps.core.errors import DomainError, NotAllowed
from apps.core.ratelimit import RateLimited, rate_check, wait_text

from . import areas, notify, rules, selectors, targets
from .audit import audit_record
from .models import Appeal, Case, Decision, ModeratorArea, Reason, Report

A = Decision.Action


class ReportInvalid(DomainError):
    code = "invalid_report"


class AlreadyReported(DomainError):
    status_code = 409
    code = "already_reported"


class TooManyReports(RateLimited):
    code = "too_many_reports"


class ReasonRequired(DomainError):
    code = "reason_required"

    def __init__(self, message: str, *, field: str = "reason"):
        super().__init__(message, field=field)


class AlreadyDecided(DomainError):
    status_code = 409
    code = "already_decided"


class NotApplicable(DomainError):
    code = "not_applicable"


class AppealInvalid(DomainError):
    code = "invalid_appeal"


class AppealWindowClosed(DomainError):
    status_code = 409
    code = "appeal_window_closed"


class AlreadyAppealed(DomainError):
    status_code = 409
    code = "already_appealed"


class SameModerator(NotAllowed):
    code = "same_moderator"


def _reason_required(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < rules.REASON_MIN_LENGTH:
        raise ReasonRequired(
            _("Give a reason of at least %(n)d characters: the person affected will read it.")
            % {"n": rules.REASON_MIN_LENGTH}
        )
    if len(text) > 2000:
        raise ReasonRequired(_("The reason may be at most 2000 characters."))
    return text


def _who(user) -> str:
    return str(user) if user is not None else _("the system")


# --- Reports ------------------------------------------------------------------------------------


def _open_case_for(target: targets.Target, obj, ct: ContentType, reason: str, now) -> Case:
    """The object's open case, locked; a new one when there is none (the partial unique constraint
    settles two first reports arriving at once)."""
    case = Case.objects.select_for_update().filter(content_type=ct, object_id=obj.pk, status=Case.Status.OPEN).first()
    if case is not None:
        return case
    try:
        with transaction.atomic():
            return Case.objects.create(
                kind=target.key,
                content_type=ct,
                object_id=obj.pk,
                area=target.area(obj),
                subject=target.subject(obj),
                shop=target.shop(obj),
                title=target.title(obj),
                snapshot=target.snapshot(obj),
                top_reason=reason,
                opened_at=now,
                last_report_at=now,
            )
    except IntegrityError:
        return Case.objects.select_for_update().get(content_type=ct, object_id=obj.pk, status=Case.Status.OPEN)


def _case_recount(case: Case) -> None:
    """Weight, count, main reason and urgency from the case's reports (rules.py)."""
    reports = list(case.reports.values_list("reason", "weight", "established"))
    established = sum(w for _r, w, e in reports if e)
    others = sum(w for _r, w, e in reports if not e)
    by_reason: dict[str, float] = {}
    for reason, weight, _e in reports:
        by_reason[reason] = by_reason.get(reason, 0.0) + weight
    case.top_reason = max(by_reason, key=lambda r: (by_reason[r], rules.SEVERITY.get(r, 1)))
    case.weight = rules.case_weight(established, others)
    case.reports_count = len(reports)
    case.urgency = round(case.weight * rules.SEVERITY.get(case.top_reason, 1), 4)


@transaction.atomic
def report_file(*, reporter: Resident, kind: str, object_id: int, reason: str, note: str = "") -> Report:
    """A resident reports a stall, a shop or a person they can see. Weighted by their standing; when
    the weight on the object reaches its threshold, it is hidden (or held) pending review."""
    if reporter is None or not reporter.is_authenticated or not reporter.is_active:
        raise NotAllowed(_("Log in to report."))
    if reporter.is_suspended:
        raise NotAllowed(_("Your account is suspended; you cannot report for now."))
    if reason not in Reason.values:
        raise ReportInvalid(_("Choose a reason from the list."), field="reason")
    note = (note or "").strip()
    if len(note) > 500:
        raise ReportInvalid(_("The note may be at most 500 characters."), field="note")
    target = targets.target_get(kind)
    obj = target.load(object_id)
    if obj is None:
        raise targets.TargetNotFound(_("There is nothing to report here."), field="object_id")
    target.check_reportable(obj, reporter)
    now = timezone.now()
    ct = target.content_type()
    # Lock the reporter's row: the daily limit and the one-report rule hold under double clicks.
    Resident.objects.select_for_update().filter(pk=reporter.pk).first()
    if Report.objects.filter(reporter=reporter, content_type=ct, object_id=obj.pk).exists():
        raise AlreadyReported(_("You have already reported this; you can follow it on your reports page."))
    todays = Report.objects.filter(reporter=reporter, created_at__gte=now - timedelta(days=1))
    if todays.count() >= rules.DAILY_REPORT_LIMIT:
        # The day is a sliding one: the next report may go when the oldest of today's turns a day old.
        oldest = todays.order_by("created_at").values_list("created_at", flat=True).first()
        retry_after = int((oldest + timedelta(days=1) - now).total_seconds()) + 1
        raise TooManyReports(
            _("You have sent many reports today.") + " " + wait_text(retry_after), retry_after=retry_after
        )
    # Besides the daily rule per reporter: many reporters' accounts from one address.
    rate_check("report_file", user=reporter)

    from apps.trust.selectors import reporter_standing

    upheld, decided = selectors.reporter_record(reporter=reporter)
    standing = reporter_standing(resident=reporter, now=now)
    weight, established = rules.reporter_weight(
        verified=standing.verified,
        age=now - reporter.date_joined,
        upheld=upheld,
        decided=decided,
        trusted=standing.vouches > 0,
    )
    case = _open_case_for(target, obj, ct, reason, now)
    report = Report.objects.create(
        case=case,
        reporter=reporter,
        content_type=ct,
        object_id=obj.pk,
        reason=reason,
        note=note,
        weight=weight,
        established=established,
        created_at=now,
    )
    _case_recount(case)
    case.last_report_at = now
    case.save(update_fields=["weight", "reports_count", "top_reason", "urgency", "last_report_at"])
    if case.auto_hidden_at is None and case.weight >= target.threshold:
        _auto_hide(case, target, now)
    return report


def _recently_cleared(case: Case, now) -> bool:
    """Moderators dismissed reports on this object lately: new reports queue, nothing hides by itself."""
    return Case.objects.filter(
        content_type_id=case.content_type_id,
        object_id=case.object_id,
        status=Case.Status.DISMISSED,
        decided_at__gte=now - rules.NO_AUTO_HIDE_AFTER_DISMISSAL,
    ).exists()


def _auto_hide(case: Case, target: targets.Target, now) -> Decision | None:
    obj = target.load(case.object_id, lock=True)
    if obj is None or target.is_hidden(obj) or _recently_cleared(case, now):
        return None
    state = target.hide(obj)
    case.auto_hidden_at = now
    case.save(update_fields=["auto_hidden_at"])
    decision = Decision.objects.create(
        case=case,
        action=A.AUTO_HIDE,
        automatic=True,
        area=case.area,
        subject=case.subject,
        shop=case.shop,
        until=None if target.is_content else now + rules.REVIEW_HOLD,
        reason=case.get_top_reason_display(),
        state={"content": state} if target.is_content else {"hold": state},
        created_at=now,
    )
    audit_record(
        actor=None,
        action="case.auto_hide",
        obj=obj,
        area=case.area,
        reason=_("Weight %(w).2f reached the threshold %(t).2f") % {"w": case.weight, "t": target.threshold},
        before={"hidden": False},
        after={"hidden": True, **decision.state},
        case=case,
        decision=decision,
    )
    notify.decision_notify(decision)
    return decision


# --- Decisions on cases ---------------------------------------------------------------------------

CASE_ACTIONS = (A.DISMISS, A.HIDE, A.WARN, A.POINTS, A.SUSPEND, A.BAN)


def _auto_hide_of(case: Case) -> Decision | None:
    return case.decisions.filter(action=A.AUTO_HIDE).order_by("-created_at").first()


def _check_applicable(case: Case, target: targets.Target, obj, action: str, tier, days) -> None:
    if action not in CASE_ACTIONS:
        raise NotApplicable(_("Unknown action."), field="action")
    if action == A.HIDE and not target.is_content:
        raise NotApplicable(_("A shop or a person is not hidden: suspend them instead."), field="action")
    if action == A.HIDE and obj is None:
        raise NotApplicable(_("The reported content no longer exists."), field="action")
    if action == A.POINTS:
        if case.shop is None:
            raise NotApplicable(_("Penalty points are for shops; this case is not about a shop."), field="action")
        if tier not in rules.PENALTY_TIERS:
            raise NotApplicable(_("Choose a tier of penalty points."), field="tier")
    if action == A.SUSPEND:
        _days_check(days)
        if case.shop is None and case.subject is None:
            raise NotApplicable(_("Nobody answers for this content any more."), field="action")
    if action in (A.WARN, A.BAN) and case.subject is None:
        raise NotApplicable(_("Nobody answers for this content any more."), field="action")
    if action == A.BAN and (case.subject.is_superuser or not case.subject.is_active):
        raise NotApplicable(_("This account cannot be banned (a superuser, or already closed)."), field="action")


def _days_check(days) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= rules.MAX_SUSPENSION_DAYS:
        raise NotApplicable(
            _("Suspend for 1 to %(n)d days.") % {"n": rules.MAX_SUSPENSION_DAYS},
            field="days",
        )
    return days


def _claim(case: Case, moderator, status: str, now) -> None:
    """The conditional update that decides who acted first on an open case."""
    won = Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).update(
        status=status, decided_at=now, decided_by=moderator
    )
    if not won:
        current = Case.objects.select_related("decided_by").get(pk=case.pk)
        raise AlreadyDecided(
            _("This case was already decided by %(who)s at %(when)s; nothing was changed.")
            % {
                "who": _who(current.decided_by),
                "when": formats.date_format(timezone.localtime(current.decided_at), "DATETIME_FORMAT"),
            }
        )
    case.status, case.decided_at, case.decided_by = status, now, moderator


def _content_down(case: Case, target: targets.Target, obj) -> dict:
    """The reported content hidden as part of an upholding decision: what it was before."""
    if obj is None or not target.is_content:
        return {}
    auto = _auto_hide_of(case)
    if target.is_hidden(obj):
        return auto.state.get("content", {}) if auto else {}
    return target.hide(obj)


def _hold_end(case: Case, target: targets.Target, obj, now, *, restore: bool) -> dict:
    """A shop's or person's review hold ends with the decision: lifted, or taken over (its state
    returned) by a suspension or ban that now holds them."""
    auto = _auto_hide_of(case)
    if auto is None or target.is_content or auto.ended_at or auto.revoked_at:
        return {}
    Decision.objects.filter(pk=auto.pk, ended_at__isnull=True).update(ended_at=now)
    hold = auto.state.get("hold", {})
    if restore and obj is not None:
        target.restore(obj, hold)
    return hold


@transaction.atomic
def case_decide(
    *, case: Case, moderator: Resident, action: str, reason: str, tier: int | None = None, days: int | None = None
) -> Decision:
    """A moderator's decision on an open case. Dismiss: the reports were unfounded (anything hidden
    pending review comes back). Every other action upholds them: reported content stays hidden, and
    the author is warned, given penalty points (a shop), suspended for `days`, or banned."""
    reason = _reason_required(reason)
    areas.check_area(moderator, case.area)
    target = targets.target_get(case.kind)
    obj = target.load(case.object_id)
    _check_applicable(case, target, obj, action, tier, days)
    now = timezone.now()
    _claim(case, moderator, Case.Status.DISMISSED if action == A.DISMISS else Case.Status.UPHELD, now)
    before = {"case": Case.Status.OPEN, "hidden": bool(obj is not None and target.is_hidden(obj))}

    if action == A.DISMISS:
        decision = _dismiss(case, target, obj, moderator, reason, now)
    else:
        content = _content_down(case, target, obj)
        hold = _hold_end(case, target, obj, now, restore=action in (A.WARN, A.POINTS, A.HIDE))
        common = {"case": case, "moderator": moderator, "reason": reason, "now": now, "content": content}
        if action == A.HIDE:
            decision = _record(action=A.HIDE, subject=case.subject, shop=case.shop, area=case.area, **common)
        elif action == A.WARN:
            decision = _record(action=A.WARN, subject=case.subject, shop=case.shop, area=case.area, **common)
        elif action == A.POINTS:
            decision = _points(shop=case.shop, tier=tier, area=case.area, **common)
        elif action == A.SUSPEND:
            if case.shop is not None:
                decision = _suspend_shop(shop=case.shop, days=days, area=case.area, hold=hold, **common)
            else:
                decision = _suspend_resident(resident=case.subject, days=days, area=case.area, hold=hold, **common)
        else:
            decision = _ban(resident=case.subject, area=case.area, hold=hold, **common)
    obj = target.load(case.object_id)
    after = {"case": case.status, "hidden": bool(obj is not None and target.is_hidden(obj)), **decision.state}
    audit_record(
        actor=moderator,
        action=f"case.{action}",
        obj=obj,
        object_repr=case.title,
        area=case.area,
        reason=reason,
        before=before,
        after=after,
        case=case,
        decision=decision,
    )
    if decision.subject_id:
        notify.decision_notify(decision)
    return decision


def _dismiss(case, target, obj, moderator, reason, now) -> Decision:
    auto = _auto_hide_of(case)
    restored = False
    if auto is not None and obj is not None and target.is_hidden(obj) and not auto.revoked_at:
        if target.is_content:
            target.restore(obj, auto.state.get("content", {}))
        else:
            _hold_end(case, target, obj, now, restore=True)
        restored = True
    return Decision.objects.create(
        case=case,
        action=A.DISMISS,
        moderator=moderator,
        area=case.area,
        # The author hears of it only when something of theirs was hidden and comes back.
        subject=case.subject if restored else None,
        reason=reason,
        state={"restored": restored},
        created_at=now,
    )


def _record(*, action, case, moderator, reason, now, content, subject, shop, area, **fields) -> Decision:
    state = {"content": content} if content else {}
    state.update(fields.pop("state", {}))
    return Decision.objects.create(
        case=case,
        action=action,
        moderator=moderator,
        area=area,
        subject=subject,
        shop=shop,
        reason=reason,
        state=state,
        created_at=now,
        **fields,
    )


def _points(*, shop, tier, case, moderator, reason, now, content, area) -> Decision:
    decision = _record(
        action=A.POINTS,
        case=case,
        moderator=moderator,
        reason=reason,
        now=now,
        content=content,
        subject=shop.owner,
        shop=shop,
        area=area,
        points=rules.tier_points(tier),
        tier=tier,
    )
    _shop_standing_apply(shop=shop, cause=decision, now=now)
    return decision


def _suspend_shop(*, shop, days, case, moderator, reason, now, content, area, hold=None) -> Decision:
    from apps.shops.services import shop_suspend

    until = now + timedelta(days=days)
    if hold:
        # Under a review hold: the suspension replaces it (longer or shorter), and an appeal puts
        # back what was there before the hold, not the hold.
        shop_suspend(shop=shop, until=until)
        state = targets.hold_shop(shop, until=until)
        state = {
            "suspended_until": hold.get("suspended_until"),
            "stalls": {**hold.get("stalls", {}), **state["stalls"]},
        }
    else:
        state = targets.hold_shop(shop, until=until)
    return _record(
        action=A.SUSPEND,
        case=case,
        moderator=moderator,
        reason=reason,
        now=now,
        content=content,
        subject=shop.owner,
        shop=shop,
        area=area,
        until=until,
        state={"account": state},
    )


def _suspend_resident(*, resident, days, case, moderator, reason, now, content, area, hold=None) -> Decision:
    from apps.accounts.services import resident_suspend

    until = now + timedelta(days=days)
    if hold:
        resident_suspend(resident=resident, until=until)
        state = targets.hold_resident(resident, until=until)
        state = {
            "suspended_until": hold.get("suspended_until"),
            "stalls": {**hold.get("stalls", {}), **state["stalls"]},
        }
    else:
        state = targets.hold_resident(resident, until=until)
    return _record(
        action=A.SUSPEND,
        case=case,
        moderator=moderator,
        reason=reason,
        now=now,
        content=content,
        subject=resident,
        shop=None,
        area=area,
        until=until,
        state={"account": state},
    )


def _ban(*, resident, case, moderator, reason, now, content, area, hold=None) -> Decision:
    from apps.accounts.services import resident_ban
    from apps.market.services import stalls_hide_live
    from apps.trust.services import trust_account_banned

    stalls = {**(hold or {}).get("stalls", {}), **stalls_hide_live(seller=resident)}
    resident_ban(resident=resident)
    # Their vouches, reviews and deals stop counting: residencies and reputations follow.
    trust_account_banned(resident=resident)
    return _record(
        action=A.BAN,
        case=case,
        moderator=moderator,
        reason=reason,
        now=now,
        content=content,
        subject=resident,
        shop=None,
        area=area,
        state={"account": {"stalls": stalls, "suspended_until": (hold or {}).get("suspended_until")}},
    )


def _shop_standing_apply(*, shop, cause: Decision, now) -> None:
    """What the shop's points now lead to (rules.py): its live stalls' place in the feed, and at
    rules.SUSPENSION_POINTS an automatic suspension. Badges follow the points by themselves
    (shops.selectors reads `selectors.shops_without_badges`)."""
    from apps.market.services import stalls_rank_penalty_set
    from apps.trust.services import reputation_recompute

    points = selectors.shop_penalty_points(shop=shop)
    stalls_rank_penalty_set(shop=shop, days=rules.rank_penalty_for(points))
    # The shop's reputation subtracts its points (docs/trust.md): stored again now, not tomorrow.
    reputation_recompute(shop=shop)
    suspended_by_points = Decision.objects.filter(
        shop=shop, action=A.SUSPEND, automatic=True, revoked_at__isnull=True, ended_at__isnull=True, until__gt=now
    ).first()
    if points >= rules.SUSPENSION_POINTS and suspended_by_points is None:
        until = now + timedelta(days=rules.AUTO_SUSPENSION_DAYS)
        state = targets.hold_shop(shop, until=until)
        decision = Decision.objects.create(
            case=cause.case,
            action=A.SUSPEND,
            automatic=True,
            area=cause.area,
            subject=shop.owner,
            shop=shop,
            until=until,
            reason=_("%(points)d penalty points in 180 days reach %(limit)d: an automatic suspension.")
            % {"points": points, "limit": rules.SUSPENSION_POINTS},
            state={"account": state, "caused_by": cause.pk},
            created_at=now,
        )
        audit_record(
            actor=None,
            action="shop.suspend_by_points",
            obj=shop,
            area=cause.area,
            reason=decision.reason,
            before={"points": points - cause.points, "suspended_until": state["suspended_until"]},
            after={"points": points, "suspended_until": until.isoformat()},
            case=cause.case,
            decision=decision,
        )
        notify.decision_notify(decision)
    elif points < rules.SUSPENSION_POINTS and suspended_by_points is not None:
        # Points revoked on appeal took the shop back under the line: the automatic suspension goes.
        _undo(suspended_by_points, now)
        Decision.objects.filter(pk=suspended_by_points.pk).update(revoked_at=now)
        audit_record(
            actor=None,
            action="shop.suspension_lifted_by_points",
            obj=shop,
            area=cause.area,
            reason=_("Points back under %(limit)d after an appeal.") % {"limit": rules.SUSPENSION_POINTS},
            before={"points": points + cause.points},
            after={"points": points},
            decision=suspended_by_points,
        )


# --- Sanctions without a case (from the shop's or resident's own admin page) ------------------------


def _check_subject_area(moderator, area) -> None:
    areas.check_area(moderator, area)


@transaction.atomic
def shop_penalize(*, shop, moderator: Resident, tier: int, reason: str, case: Case | None = None) -> Decision:
    """Penalty points for a shop (false advertising, counterfeits) found outside the report queue,
    for example in an escalated pledge-claim dispute."""
    reason = _reason_required(reason)
    area = areas.area_of_cell(shop.cell_r8)
    _check_subject_area(moderator, area)
    if tier not in rules.PENALTY_TIERS:
        raise NotApplicable(_("Choose a tier of penalty points."), field="tier")
    now = timezone.now()
    before = {"points": selectors.shop_penalty_points(shop=shop)}
    decision = _points(
        shop=shop, tier=tier, case=case, moderator=moderator, reason=reason, now=now, content={}, area=area
    )
    audit_record(
        actor=moderator,
        action="shop.points",
        obj=shop,
        area=area,
        reason=reason,
        before=before,
        after={"points": selectors.shop_penalty_points(shop=shop)},
        case=case,
        decision=decision,
    )
    notify.decision_notify(decision)
    return decision


@transaction.atomic
def shop_suspend_for(*, shop, moderator: Resident, days: int, reason: str) -> Decision:
    reason = _reason_required(reason)
    area = areas.area_of_cell(shop.cell_r8)
    _check_subject_area(moderator, area)
    _days_check(days)
    now = timezone.now()
    decision = _suspend_shop(
        shop=shop, days=days, case=None, moderator=moderator, reason=reason, now=now, content={}, area=area
    )
    audit_record(
        actor=moderator,
        action="shop.suspend",
        obj=shop,
        area=area,
        reason=reason,
        before={"suspended_until": decision.state["account"]["suspended_until"]},
        after={"suspended_until": decision.until.isoformat()},
        decision=decision,
    )
    notify.decision_notify(decision)
    return decision


@transaction.atomic
def resident_suspend_for(*, resident: Resident, moderator: Resident, days: int, reason: str) -> Decision:
    reason = _reason_required(reason)
    area = areas.area_of_cell(resident.home_cell)
    _check_subject_area(moderator, area)
    _days_check(days)
    if resident.pk == moderator.pk:
        raise NotApplicable(_("You cannot suspend yourself."))
    now = timezone.now()
    decision = _suspend_resident(
        resident=resident, days=days, case=None, moderator=moderator, reason=reason, now=now, content={}, area=area
    )
    audit_record(
        actor=moderator,
        action="resident.suspend",
        obj=resident,
        area=area,
        reason=reason,
        before={"suspended_until": decision.state["account"]["suspended_until"]},
        after={"suspended_until": decision.until.isoformat()},
        decision=decision,
    )
    notify.decision_notify(decision)
    return decision


@transaction.atomic
def resident_ban_for(*, resident: Resident, moderator: Resident, reason: str) -> Decision:
    reason = _reason_required(reason)
    area = areas.area_of_cell(resident.home_cell)
    _check_subject_area(moderator, area)
    if resident.pk == moderator.pk:
        raise NotApplicable(_("You cannot ban yourself."))
    if not resident.is_active or resident.is_superuser:
        raise NotApplicable(_("This account cannot be banned (a superuser, or already closed)."))
    decision = _ban(
        resident=resident, case=None, moderator=moderator, reason=reason, now=timezone.now(), content={}, area=area
    )
    audit_record(
        actor=moderator,
        action="resident.ban",
        obj=resident,
        area=area,
        reason=reason,
        before={"is_active": True},
        after={"is_active": False, **decision.state},
        decision=decision,
    )
    notify.decision_notify(decision)
    return decision


# --- Restore --------------------------------------------------------------------------------------


@transaction.atomic
def case_restore(*, case: Case, moderator: Resident, reason: str) -> Decision:
    """Puts back content a decided case hid (the author fixed it, or it was hidden in error); the
    decision and any sanction stand. Open cases are decided instead: dismissing restores."""
    reason = _reason_required(reason)
    areas.check_area(moderator, case.area)
    target = targets.target_get(case.kind)
    if case.status == Case.Status.OPEN:
        raise NotApplicable(_("This case is still open: dismiss it to put the content back."), field="action")
    if not target.is_content:
        raise NotApplicable(_("Shops and people are restored by lifting their suspension on appeal."))
    obj = target.load(case.object_id, lock=True)
    if obj is None or not target.is_hidden(obj):
        raise NotApplicable(_("Nothing of this case is hidden."), field="action")
    hid = case.decisions.filter(state__has_key="content").exclude(action=A.RESTORE).order_by("-created_at").first()
    content = (hid.state.get("content") if hid else None) or {}
    target.restore(obj, content)
    now = timezone.now()
    decision = Decision.objects.create(
        case=case,
        action=A.RESTORE,
        moderator=moderator,
        area=case.area,
        subject=case.subject,
        shop=case.shop,
        reason=reason,
        state={"content": content},
        created_at=now,
    )
    audit_record(
        actor=moderator,
        action="case.restore",
        obj=obj,
        object_repr=case.title,
        area=case.area,
        reason=reason,
        before={"hidden": True},
        after={"hidden": target.is_hidden(obj)},
        case=case,
        decision=decision,
    )
    notify.decision_notify(decision)
    return decision


# --- Appeals --------------------------------------------------------------------------------------


def _may_appeal(decision: Decision, appellant: Resident) -> bool:
    if decision.subject_id == appellant.pk:
        return True
    return decision.shop_id is not None and decision.shop.owner_id == appellant.pk


@transaction.atomic
def appeal_file(*, decision: Decision, appellant: Resident, text: str) -> Appeal:
    """The affected resident appeals a moderator's decision: once, within 14 days, with a text."""
    text = (text or "").strip()
    if not _may_appeal(decision, appellant):
        raise NotAllowed(_("Only the person a decision affects can appeal it."))
    if not selectors.decision_is_appealable(decision):
        raise AppealInvalid(_("This decision cannot be appealed."))
    if timezone.now() > selectors.decision_appeal_deadline(decision):
        raise AppealWindowClosed(
            _("Appeals are possible for 14 days after a decision; this one was made on %(date)s.")
            % {"date": formats.date_format(timezone.localtime(decision.created_at), "DATE_FORMAT")}
        )
    if len(text) < 10:
        raise AppealInvalid(_("Tell the moderators in a sentence or two why the decision is wrong."), field="text")
    if len(text) > 2000:
        raise AppealInvalid(_("The appeal may be at most 2000 characters."), field="text")
    if Appeal.objects.filter(decision=decision).exists():
        raise AlreadyAppealed(_("This decision has already been appealed; each decision can be appealed once."))
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(decision=decision, appellant=appellant, text=text, area=decision.area)
    except IntegrityError:
        raise AlreadyAppealed(_("This decision has already been appealed; each decision can be appealed once."))
    audit_record(
        actor=appellant,
        action="appeal.file",
        obj=decision,
        object_repr=str(decision),
        area=decision.area,
        reason=text,
        after={"appeal": appeal.pk},
        case=decision.case,
        decision=decision,
    )
    return appeal


def _undo(decision: Decision, now) -> None:
    """Reverses what a decision changed, from its `state`."""
    case = decision.case
    content = decision.state.get("content")
    if content and case is not None:
        target = targets.target_get(case.kind)
        obj = target.load(case.object_id, lock=True)
        if obj is not None and target.is_hidden(obj):
            target.restore(obj, content)
    account = decision.state.get("account")
    if decision.action == A.SUSPEND and account is not None:
        if decision.shop_id:
            targets.unhold_shop(decision.shop, account)
        elif decision.subject_id:
            targets.unhold_resident(decision.subject, account)
    if decision.action == A.BAN and decision.subject_id:
        from apps.accounts.services import resident_unban
        from apps.trust.services import trust_account_reinstated

        resident_unban(resident=decision.subject)
        trust_account_reinstated(resident=decision.subject)
        # Their stalls come back, and a review hold the ban took over ends with it.
        targets.unhold_resident(decision.subject, account or {})


@transaction.atomic
def appeal_decide(*, appeal: Appeal, moderator: Resident, grant: bool, answer: str) -> Appeal:
    """Another moderator than the one who decided answers the appeal. Granted: the decision is
    revoked and its effects undone (the case counts as dismissed for the reporters' record).
    Refused: it stands. Either way the appellant is told, with the answer."""
    answer = _reason_required(answer)
    areas.check_area(moderator, appeal.area)
    decision = appeal.decision
    if decision.moderator_id == moderator.pk:
        raise SameModerator(_("Another moderator must decide an appeal against your own decision."))
    if appeal.appellant_id == moderator.pk:
        raise SameModerator(_("Another moderator must decide your own appeal."))
    now = timezone.now()
    status = Appeal.Status.GRANTED if grant else Appeal.Status.REFUSED
    won = Appeal.objects.filter(pk=appeal.pk, status=Appeal.Status.PENDING).update(
        status=status, decided_at=now, decided_by=moderator, answer=answer
    )
    if not won:
        current = Appeal.objects.select_related("decided_by").get(pk=appeal.pk)
        raise AlreadyDecided(
            _("This appeal was already decided by %(who)s; nothing was changed.") % {"who": _who(current.decided_by)}
        )
    appeal.refresh_from_db()
    before = {"decision": decision.action, "revoked": False}
    if grant:
        _undo(decision, now)
        Decision.objects.filter(pk=decision.pk).update(revoked_at=now, revoked_by=moderator)
        decision.revoked_at, decision.revoked_by = now, moderator
        if decision.action == A.POINTS and decision.shop_id:
            _shop_standing_apply(shop=decision.shop, cause=decision, now=now)
        if decision.case_id:
            Case.objects.filter(pk=decision.case_id, status=Case.Status.UPHELD).update(status=Case.Status.DISMISSED)
    audit_record(
        actor=moderator,
        action="appeal.grant" if grant else "appeal.refuse",
        obj=decision,
        object_repr=str(decision),
        area=appeal.area,
        reason=answer,
        before=before,
        after={"decision": decision.action, "revoked": grant, "appeal": status},
        case=decision.case,
        decision=decision,
    )
    notify.appeal_notify(appeal)
    return appeal


# --- Suspensions that run out ------------------------------------------------------------------------


@transaction.atomic
def suspensions_end_due(*, now=None) -> int:
    """Holds and suspensions whose time is up: their hidden stalls come back (the suspension itself
    just lapses). Each is claimed by a conditional update, so the task may run twice or at once."""
    now = now or timezone.now()
    due = Decision.objects.filter(
        Q(action=A.SUSPEND) | Q(action=A.AUTO_HIDE),
        until__lte=now,
        ended_at__isnull=True,
        revoked_at__isnull=True,
    )
    from apps.market.services import stalls_restore

    ended = 0
    for decision in due.select_related("shop", "subject"):
        if not Decision.objects.filter(pk=decision.pk, ended_at__isnull=True).update(ended_at=now):
            continue
        state = decision.state.get("account") or decision.state.get("hold") or {}
        restored = stalls_restore(hidden=state.get("stalls") or {})
        audit_record(
            actor=None,
            action="suspension.end",
            obj=decision.shop or decision.subject,
            area=decision.area,
            reason=_("The suspension ran out."),
            before={"until": decision.until.isoformat()},
            after={"stalls_restored": restored},
            case=decision.case,
            decision=decision,
        )
        ended += 1
    return ended


# --- Moderators' areas --------------------------------------------------------------------------------


@transaction.atomic
def moderator_area_assign(*, moderator: Resident, cell: int, by: Resident) -> ModeratorArea:
    if not by.is_superuser:
        raise NotAllowed(_("Only a superuser assigns moderators to areas."))
    if not moderator.is_staff:
        raise NotApplicable(_("Only staff accounts can moderate; give this account staff status first."))
    if not isinstance(cell, int) or not areas.geo.is_valid_cell(cell, areas.resolution()):
        raise NotApplicable(_("That is not an area cell."), field="cell")
    area, created = ModeratorArea.objects.get_or_create(moderator=moderator, cell=cell, defaults={"assigned_by": by})
    if created:
        audit_record(
            actor=by,
            action="area.assign",
            obj=moderator,
            area=cell,
            after={"area": areas.area_label(cell)},
        )
    return area


@transaction.atomic
def moderator_area_remove(*, area: ModeratorArea, by: Resident) -> None:
    if not by.is_superuser:
        raise NotAllowed(_("Only a superuser assigns moderators to areas."))
    audit_record(
        actor=by,
        action="area.remove",
        obj=area.moderator,
        area=area.cell,
        before={"area": areas.area_label(area.cell)},
    )
    area.delete()
