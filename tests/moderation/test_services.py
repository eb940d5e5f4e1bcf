from datetime import timedelta

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.core.errors import NotAllowed
from apps.market import selectors as market_selectors
from apps.market.models import Stall
from apps.moderation import areas, rules, selectors, services
from apps.moderation.models import Appeal, AuditEntry, AuditLogImmutable, Case, Decision, Report
from apps.notifications.models import Notification
from apps.shops.selectors import pledge_badges, shop_detail
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import make_shop, publish
from tests.moderation.factories import PUDONG, moderator, neighbour, report, reported_enough, ring, superuser

pytestmark = pytest.mark.django_db

A = Decision.Action


def hidden(stall) -> bool:
    stall.refresh_from_db()
    return stall.status == Stall.Status.HIDDEN


# --- Weights -------------------------------------------------------------------------------------


def test_weight_rules():
    w, established = rules.reporter_weight(verified=True, age=timedelta(days=90), upheld=0, decided=0)
    assert (w, established) == (1.0, True)
    w, established = rules.reporter_weight(verified=False, age=timedelta(hours=2), upheld=0, decided=0)
    assert w == pytest.approx(0.3 * 0.2) and not established
    w, established = rules.reporter_weight(verified=True, age=timedelta(days=10), upheld=0, decided=0)
    assert w == pytest.approx(0.6) and not established
    # A record of accurate reports raises the weight (to 1.5), of unfounded ones lowers it (to 0.1).
    assert rules.reporter_weight(verified=True, age=timedelta(days=90), upheld=10, decided=10)[0] == 1.5
    assert rules.reporter_weight(verified=True, age=timedelta(days=90), upheld=0, decided=20)[0] == 0.1
    assert rules.case_weight(2.0, 7.5) == 3.0  # new accounts count together for at most 1.0


def test_reporter_record_from_decided_cases():
    mod = moderator()
    reporter = neighbour()
    stalls = [publish(title=f"Stall {i}") for i in range(3)]
    for stall in stalls:
        report(stall, by=reporter)
    cases = [Case.objects.get(object_id=s.pk, kind="stall") for s in stalls]
    services.case_decide(case=cases[0], moderator=mod, action=A.HIDE, reason="Misleading photo")
    services.case_decide(case=cases[1], moderator=mod, action=A.DISMISS, reason="Looks fine to me")
    assert selectors.reporter_record(reporter=reporter) == (1, 2)
    # Upheld 1 of 2: factor 2 × 2/4 = 1.0. A reporter who was wrong twice weighs less next time.
    wrong = neighbour()
    for stall in (publish(), publish()):
        report(stall, by=wrong)
        services.case_decide(
            case=Case.objects.get(object_id=stall.pk, kind="stall"), moderator=mod, action=A.DISMISS, reason="All fine"
        )
    later = report(publish(), by=wrong)
    assert later.weight == pytest.approx(2 * 1 / 4)


# --- Reporting ----------------------------------------------------------------------------------


def test_report_opens_one_case_per_object_and_one_report_per_reporter():
    stall = publish(title="Organic apples")
    reporter = neighbour()
    first = report(stall, by=reporter, reason="false_advertising", note="Not organic at all")
    report(stall, by=neighbour(), reason="counterfeit")
    case = first.case
    case.refresh_from_db()
    assert case.reports_count == 2 and case.kind == "stall" and case.title == "Organic apples"
    assert case.area == areas.area_of_point(JINGAN.lat, JINGAN.lng)
    assert case.snapshot["title"] == "Organic apples" and case.subject == stall.seller
    assert case.weight == 2.0 and not hidden(stall)
    with pytest.raises(services.AlreadyReported):
        report(stall, by=reporter, reason="scam")
    assert Report.objects.filter(reporter=reporter).count() == 1
    case.refresh_from_db()
    assert case.reports_count == 2


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"reason": "rude"}, services.ReportInvalid),
        ({"note": "x" * 501}, services.ReportInvalid),
        ({"kind": "planet"}, services.targets.NotReportable),
        ({"object_id": 999999}, services.targets.TargetNotFound),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_stored(kwargs, error):
    stall = publish()
    data = {"reporter": neighbour(), "kind": "stall", "object_id": stall.pk, "reason": "spam", "note": ""}
    data.update(kwargs)
    with pytest.raises(error):
        services.report_file(**data)
    assert not Report.objects.exists() and not Case.objects.exists()


def test_cannot_report_own_stall_own_shop_or_self_or_hidden_things():
    shop = make_shop()
    stall = publish(shop=shop)
    with pytest.raises(services.targets.NotReportable):
        report(stall, by=shop.owner)
    with pytest.raises(services.targets.NotReportable):
        report(shop, by=shop.owner)
    me = neighbour()
    with pytest.raises(services.targets.NotReportable):
        report(me, by=me)
    reported_enough(stall)
    with pytest.raises(services.targets.TargetNotFound):
        report(stall)


def test_daily_limit_and_suspended_reporters():
    reporter = neighbour()
    for _ in range(rules.DAILY_REPORT_LIMIT):
        report(publish(), by=reporter, reason="spam")
    with pytest.raises(services.TooManyReports) as refused:
        report(publish(), by=reporter)
    assert refused.value.status_code == 429 and 0 < refused.value.retry_after <= 24 * 3600
    suspended = neighbour()
    suspended.suspended_until = timezone.now() + timedelta(days=2)
    suspended.save()
    with pytest.raises(NotAllowed):
        report(publish(), by=suspended)


# --- Auto-hide ----------------------------------------------------------------------------------


def test_enough_weight_hides_a_stall_and_tells_its_seller_why_and_how_to_appeal(django_capture_on_commit_callbacks):
    seller = ResidentFactory(home=JINGAN, language="en")
    stall = publish(seller, title="Rolex, real")
    report(stall, reason="counterfeit")
    report(stall, reason="counterfeit")
    assert not hidden(stall)
    with django_capture_on_commit_callbacks(execute=True):
        report(stall, reason="counterfeit")
    assert hidden(stall)
    case = Case.objects.get()
    assert case.auto_hidden_at is not None and case.is_open and case.weight == 3.0
    auto = Decision.objects.get(action=A.AUTO_HIDE)
    assert auto.automatic and auto.moderator is None and auto.state == {"content": {"status": "open"}}
    note = Notification.objects.get(recipient=seller)
    assert "hidden pending review" in note.text and "Counterfeit goods" in note.text and "appeal" in note.text
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [seller.email]
    assert "Rolex, real" in mail.outbox[0].subject and "appeal" in mail.outbox[0].body
    entry = AuditEntry.objects.get(action="case.auto_hide")
    assert entry.actor is None and entry.after["hidden"] is True and entry.case == case
    # The feed no longer shows it.
    feed = market_selectors.stalls_feed(origin=JINGAN, radius_m=1000, viewer=neighbour())
    assert stall.pk not in [s.pk for s in feed.items]


def test_a_reporting_ring_of_new_accounts_cannot_hide_honest_content():
    stall = publish(title="Honest tofu")
    for fake in ring(40):
        report(stall, by=fake, reason="scam")
    case = Case.objects.get()
    assert case.reports_count == 40 and case.weight == rules.NEW_ACCOUNTS_CAP
    assert not hidden(stall)
    # Even with one established neighbour joining in, still below the threshold of 3.
    report(stall, by=neighbour(), reason="scam")
    case.refresh_from_db()
    assert case.weight == 2.0 and not hidden(stall)
    # Verified but young accounts are not established either.
    for young in [neighbour(age_days=5) for _ in range(10)]:
        report(stall, by=young, reason="scam")
    case.refresh_from_db()
    assert case.weight == 2.0 and not hidden(stall)
    # It is in the queue, for a moderator to look at.
    assert case.is_open


def test_no_auto_hide_soon_after_moderators_cleared_the_object():
    stall = publish()
    mod = moderator()
    reported_enough(stall)
    services.case_decide(case=Case.objects.get(), moderator=mod, action=A.DISMISS, reason="Checked the shop")
    assert not hidden(stall)
    reported_enough(stall)
    assert not hidden(stall)
    assert Case.objects.filter(status=Case.Status.OPEN).get().weight == 3.0


def test_a_shop_takes_twice_the_weight_and_is_held_with_its_stalls():
    shop = make_shop()
    stall = publish(shop=shop)
    reported_enough(shop, n=5, reason="scam")
    shop.refresh_from_db()
    assert shop.suspended_until is None
    reported_enough(shop, n=1, reason="scam")
    shop.refresh_from_db()
    assert shop.suspended_until > timezone.now() + timedelta(days=6)
    assert hidden(stall)
    # Dismissing lifts the hold and brings the stalls back.
    services.case_decide(case=Case.objects.get(), moderator=moderator(), action=A.DISMISS, reason="A rival's ring")
    shop.refresh_from_db()
    assert shop.suspended_until is None and not hidden(stall)


def test_a_hold_ends_by_itself_and_gives_the_stalls_back():
    person = neighbour()
    stall = publish(person)
    reported_enough(person, n=6, reason="harassment")
    person.refresh_from_db()
    assert person.is_suspended and hidden(stall)
    later = timezone.now() + rules.REVIEW_HOLD + timedelta(minutes=1)
    assert services.suspensions_end_due(now=later) == 1
    assert services.suspensions_end_due(now=later) == 0  # idempotent
    assert not hidden(stall)
    assert AuditEntry.objects.filter(action="suspension.end").count() == 1


# --- Decisions ----------------------------------------------------------------------------------


def test_dismiss_restores_what_was_hidden_and_records_who_and_why():
    stall = publish()
    Stall.objects.filter(pk=stall.pk).update(status=Stall.Status.RESERVED)
    reported_enough(stall)
    assert hidden(stall)
    mod = moderator()
    decision = services.case_decide(case=Case.objects.get(), moderator=mod, action=A.DISMISS, reason="Real offer")
    stall.refresh_from_db()
    assert stall.status == Stall.Status.RESERVED
    case = Case.objects.get()
    assert case.status == Case.Status.DISMISSED and case.decided_by == mod
    entry = AuditEntry.objects.get(action="case.dismiss")
    assert entry.actor == mod and entry.reason == "Real offer" and entry.decision == decision
    assert entry.before["hidden"] is True and entry.after["hidden"] is False


@pytest.mark.parametrize("reason", ["", "   ", "ok"])
def test_actions_need_a_reason_and_change_nothing_without_one(reason):
    stall = publish()
    reported_enough(stall)
    with pytest.raises(services.ReasonRequired):
        services.case_decide(case=Case.objects.get(), moderator=moderator(), action=A.DISMISS, reason=reason)
    assert Case.objects.get().is_open and hidden(stall) and not AuditEntry.objects.exclude(action="case.auto_hide")


def test_a_moderator_outside_the_area_is_refused_and_nothing_changes():
    stall = publish()
    reported_enough(stall)
    far = moderator(at=PUDONG)
    with pytest.raises(areas.OutsideArea):
        services.case_decide(case=Case.objects.get(), moderator=far, action=A.DISMISS, reason="Looks fine")
    with pytest.raises(areas.NotModerator):
        services.case_decide(case=Case.objects.get(), moderator=neighbour(), action=A.DISMISS, reason="Looks fine")
    assert Case.objects.get().is_open and hidden(stall)
    # A superuser acts everywhere.
    services.case_decide(case=Case.objects.get(), moderator=superuser(), action=A.DISMISS, reason="Looks fine")
    assert not hidden(stall)


def test_two_moderators_at_once_one_wins_the_other_is_told():
    stall = publish()
    reported_enough(stall)
    first, second = moderator(display_name="Mod One"), moderator(display_name="Mod Two")
    seen_by_second = Case.objects.get()  # loaded before the first one decides
    services.case_decide(case=Case.objects.get(), moderator=first, action=A.HIDE, reason="Fake photos")
    with pytest.raises(services.AlreadyDecided, match="Mod One"):
        services.case_decide(case=seen_by_second, moderator=second, action=A.DISMISS, reason="Looks fine")
    case = Case.objects.get()
    assert case.status == Case.Status.UPHELD and case.decided_by == first and hidden(stall)
    assert Decision.objects.filter(moderator=second).count() == 0


def test_actions_that_do_not_apply_are_refused():
    resident_stall = publish()
    reported_enough(resident_stall)
    mod = moderator()
    case = Case.objects.get()
    with pytest.raises(services.NotApplicable):
        services.case_decide(case=case, moderator=mod, action=A.POINTS, reason="Not a shop", tier=2)
    with pytest.raises(services.NotApplicable):
        services.case_decide(case=case, moderator=mod, action=A.SUSPEND, reason="Too long", days=999)
    shop = make_shop()
    reported_enough(shop, n=1)
    shop_case = Case.objects.get(kind="shop")
    with pytest.raises(services.NotApplicable):
        services.case_decide(case=shop_case, moderator=mod, action=A.HIDE, reason="Shops are suspended")
    with pytest.raises(services.NotApplicable):
        services.case_decide(case=shop_case, moderator=mod, action=A.POINTS, reason="No tier", tier=7)
    assert Case.objects.filter(status=Case.Status.OPEN).count() == 2


def test_warn_keeps_the_content_hidden_and_tells_the_author(django_capture_on_commit_callbacks):
    seller = ResidentFactory(home=JINGAN)
    stall = publish(seller)
    with django_capture_on_commit_callbacks(execute=True):
        reported_enough(stall, reason="spam")
        services.case_decide(case=Case.objects.get(), moderator=moderator(), action=A.WARN, reason="Posted 5 times")
    assert hidden(stall)
    warn = Decision.objects.get(action=A.WARN)
    assert warn.subject == seller and warn.state["content"] == {"status": "open"}
    assert Notification.objects.filter(recipient=seller).count() == 2  # the hold, then the warning
    assert len(mail.outbox) == 2 and "Posted 5 times" in mail.outbox[1].body


def test_restore_puts_back_content_of_a_decided_case_and_the_sanction_stands():
    shop = make_shop()
    stall = publish(shop=shop)
    reported_enough(stall)
    mod = moderator()
    case = Case.objects.get()
    with pytest.raises(services.NotApplicable):
        services.case_restore(case=case, moderator=mod, reason="Still open")
    services.case_decide(case=case, moderator=mod, action=A.POINTS, reason="Claimed organic", tier=1)
    services.case_restore(case=Case.objects.get(), moderator=mod, reason="The shop fixed the description")
    assert not hidden(stall)
    assert selectors.shop_penalty_points(shop=shop) == 3
    with pytest.raises(services.NotApplicable):
        services.case_restore(case=Case.objects.get(), moderator=mod, reason="Nothing hidden now")


# --- Penalty points and their sanctions -----------------------------------------------------------


def _points(shop, tier, mod):
    stall = publish(shop=shop, title=f"Stall tier {tier}")
    report(stall, reason="false_advertising")
    case = Case.objects.get(object_id=stall.pk, kind="stall", status=Case.Status.OPEN)
    return services.case_decide(case=case, moderator=mod, action=A.POINTS, reason="Misleading", tier=tier)


def test_points_in_tiers_demote_then_take_badges_then_suspend():
    mod = moderator()
    shop = make_shop(pledges=["returns"])
    honest = make_shop(pledges=["returns"], at=JINGAN)
    live = publish(shop=shop, title="Still selling")
    assert [b.kind for b in pledge_badges(shop=shop_detail(pk=shop.pk))] == ["returns"]

    _points(shop, 1, mod)  # 3 points: nothing yet
    live.refresh_from_db()
    assert live.rank_penalty_days == 0 and selectors.shop_penalty_points(shop=shop) == 3

    _points(shop, 1, mod)  # 6 points: demoted in the feed
    live.refresh_from_db()
    assert live.rank_penalty_days == 2.0
    assert publish(shop=shop).rank_penalty_days == 2.0  # new stalls too
    rival = publish(shop=honest, title="Honest stall")
    Stall.objects.filter(pk=rival.pk).update(fresh_days=live.fresh_days - 1)  # a day older than ours
    feed = market_selectors.stalls_feed(origin=JINGAN, radius_m=1000, viewer=neighbour())
    order = [s.pk for s in feed.items]
    assert order.index(rival.pk) < order.index(live.pk)

    _points(shop, 2, mod)  # 12 points: no pledge badges, on the shop page or on stalls
    assert pledge_badges(shop=shop_detail(pk=shop.pk)) == []
    assert [b.kind for b in pledge_badges(shop=shop_detail(pk=honest.pk))] == ["returns"]
    feed = market_selectors.stalls_feed(origin=JINGAN, radius_m=1000, viewer=neighbour())
    ours = next(s for s in feed.items if s.pk == live.pk)
    assert ours.shop.active_pledges == [] and ours.rank_penalty_days == 5.0

    shop.refresh_from_db()
    assert shop.suspended_until is None
    _points(shop, 2, mod)  # 18
    shop.refresh_from_db()
    assert shop.suspended_until is None
    _points(shop, 1, mod)  # 21 points: an automatic 30-day suspension
    shop.refresh_from_db()
    assert shop.suspended_until > timezone.now() + timedelta(days=29)
    auto = Decision.objects.get(action=A.SUSPEND, automatic=True)
    assert auto.shop == shop and AuditEntry.objects.filter(action="shop.suspend_by_points").count() == 1
    assert hidden(live)
    with pytest.raises(NotAllowed):
        publish(shop=shop)
    standing = selectors.shop_standing(shop=shop)
    assert standing.points == 21 and standing.badges_lost and standing.suspended_until


def test_points_count_for_180_days():
    mod = moderator()
    shop = make_shop()
    old = _points(shop, 3, mod)
    Decision.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=181))
    assert selectors.shop_penalty_points(shop=shop) == 0
    assert selectors.shop_penalty_points(shop=shop, since=timezone.now() - timedelta(days=365)) == 12


def test_badges_come_back_when_the_points_leave_the_window():
    mod = moderator()
    shop = make_shop(pledges=["returns"], at=JINGAN)
    live = publish(shop=shop, title="Still selling")
    lost = [_points(shop, 2, mod), _points(shop, 2, mod)]  # 12 points: no badges

    def badges_shown():
        feed = market_selectors.stalls_feed(origin=JINGAN, radius_m=1000, viewer=neighbour())
        on_stall = next(s for s in feed.items if s.pk == live.pk).shop.active_pledges
        return [b.kind for b in pledge_badges(shop=shop_detail(pk=shop.pk))], [p.kind for p in on_stall]

    assert badges_shown() == ([], [])
    Decision.objects.filter(pk=lost[0].pk).update(created_at=timezone.now() - timedelta(days=181))
    assert badges_shown() == (["returns"], ["returns"])  # 6 points in force


def test_sanctions_of_the_last_90_days_for_the_shop_page():
    mod = moderator()
    shop = make_shop()
    recent = _points(shop, 2, mod)
    old = _points(shop, 1, mod)
    Decision.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    assert [d.pk for d in selectors.shop_sanctions_recent(shop=shop)] == [recent.pk]
    from django.template import Context, Template

    html = Template("{% load moderation %}{% shop_sanctions shop %}").render(Context({"shop": shop}))
    assert "Penalty points" in html and "Tier 2" in html and "9 penalty points" in html


def test_suspend_and_ban_people():
    mod = moderator()
    person = neighbour()
    own = publish(person)
    stall = publish(person)
    reported_enough(stall, reason="scam")
    services.case_decide(case=Case.objects.get(), moderator=mod, action=A.SUSPEND, reason="Scam attempts", days=3)
    person.refresh_from_db()
    assert person.is_suspended and hidden(own)
    with pytest.raises(NotAllowed):
        publish(person)
    other = neighbour()
    reported_enough(other, n=6, reason="harassment")
    services.case_decide(case=Case.objects.get(kind="resident"), moderator=mod, action=A.BAN, reason="Threats")
    other.refresh_from_db()
    assert not other.is_active
    with pytest.raises(services.NotApplicable):
        services.resident_ban_for(resident=superuser(), moderator=superuser(), reason="Cannot ban these")


def test_a_shop_stall_case_suspends_the_shop():
    shop = make_shop()
    stall = publish(shop=shop)
    reported_enough(stall)
    services.case_decide(case=Case.objects.get(), moderator=moderator(), action=A.SUSPEND, reason="Fakes", days=10)
    shop.refresh_from_db()
    assert timezone.now() + timedelta(days=9) < shop.suspended_until < timezone.now() + timedelta(days=11)


# --- Appeals ----------------------------------------------------------------------------------------


def _decided_points(shop, mod, tier=2):
    return _points(shop, tier, mod)


def test_appeal_once_within_14_days_by_the_affected_resident():
    mod = moderator()
    shop = make_shop()
    decision = _decided_points(shop, mod)
    with pytest.raises(NotAllowed):
        services.appeal_file(decision=decision, appellant=neighbour(), text="I am not even the owner")
    with pytest.raises(services.AppealInvalid):
        services.appeal_file(decision=decision, appellant=shop.owner, text="no")
    appeal = services.appeal_file(
        decision=decision, appellant=shop.owner, text="The apples were organic, here is the certificate."
    )
    assert appeal.status == Appeal.Status.PENDING and appeal.area == decision.area
    with pytest.raises(services.AlreadyAppealed):
        services.appeal_file(decision=decision, appellant=shop.owner, text="Once more, with feeling please")
    late = _decided_points(shop, mod)
    Decision.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(days=15))
    late.refresh_from_db()
    with pytest.raises(services.AppealWindowClosed):
        services.appeal_file(decision=late, appellant=shop.owner, text="Sorry I am late with this appeal")
    assert Appeal.objects.count() == 1
    # Automatic holds are not appealed: the moderator's decision on them is.
    stall = publish()
    reported_enough(stall)
    with pytest.raises(services.AppealInvalid):
        services.appeal_file(
            decision=Decision.objects.get(action=A.AUTO_HIDE), appellant=stall.seller, text="My stall is fine really"
        )


def test_an_appeal_is_decided_by_another_moderator_and_granting_undoes_the_decision():
    mod, other = moderator(), moderator()
    shop = make_shop(pledges=["returns"])
    stall = publish(shop=shop)
    reporter = neighbour()
    report(stall, by=reporter)
    reported_enough(stall, n=2)
    decision = services.case_decide(
        case=Case.objects.get(), moderator=mod, action=A.POINTS, reason="Counterfeit bags", tier=3
    )
    assert hidden(stall) and pledge_badges(shop=shop_detail(pk=shop.pk)) == []
    appeal = services.appeal_file(decision=decision, appellant=shop.owner, text="They are genuine; receipts attached.")
    with pytest.raises(services.SameModerator):
        services.appeal_decide(appeal=appeal, moderator=mod, grant=True, answer="I was wrong")
    with pytest.raises(areas.OutsideArea):
        services.appeal_decide(appeal=appeal, moderator=moderator(at=PUDONG), grant=True, answer="Not my area")
    with pytest.raises(services.ReasonRequired):
        services.appeal_decide(appeal=appeal, moderator=other, grant=True, answer="")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.PENDING

    services.appeal_decide(appeal=appeal, moderator=other, grant=True, answer="Receipts check out")
    decision.refresh_from_db()
    assert decision.revoked_at and decision.revoked_by == other
    assert not hidden(stall) and selectors.shop_penalty_points(shop=shop) == 0
    assert [b.kind for b in pledge_badges(shop=shop_detail(pk=shop.pk))] == ["returns"]
    assert Case.objects.get().status == Case.Status.DISMISSED
    assert selectors.reporter_record(reporter=reporter) == (0, 1)
    assert "granted" in Notification.objects.filter(recipient=shop.owner).first().text
    with pytest.raises(services.AlreadyDecided):
        services.appeal_decide(appeal=appeal, moderator=moderator(), grant=False, answer="Too late now")
    assert AuditEntry.objects.filter(action="appeal.grant").count() == 1


def test_a_refused_appeal_leaves_the_decision_standing():
    mod, other = moderator(), moderator()
    person = neighbour()
    stall = publish(person)
    reported_enough(stall)
    decision = services.case_decide(case=Case.objects.get(), moderator=mod, action=A.SUSPEND, reason="Scams", days=5)
    appeal = services.appeal_file(decision=decision, appellant=person, text="It was a misunderstanding, truly.")
    services.appeal_decide(appeal=appeal, moderator=other, grant=False, answer="Three neighbours lost money")
    person.refresh_from_db()
    assert person.is_suspended and hidden(stall)
    decision.refresh_from_db()
    assert decision.revoked_at is None


def test_granting_an_appeal_against_suspension_or_ban_lifts_it():
    mod, other = moderator(), moderator()
    person = neighbour()
    own = publish(person)
    decision = services.resident_ban_for(resident=person, moderator=mod, reason="Spam everywhere")
    person.refresh_from_db()
    assert not person.is_active and hidden(own)
    appeal = services.appeal_file(decision=decision, appellant=person, text="My account was stolen last week.")
    services.appeal_decide(appeal=appeal, moderator=other, grant=True, answer="Recovered account")
    person.refresh_from_db()
    assert person.is_active and not hidden(own)

    shop = make_shop()
    stall = publish(shop=shop)
    suspension = services.shop_suspend_for(shop=shop, moderator=mod, days=10, reason="Unsafe food")
    assert hidden(stall)
    appeal = services.appeal_file(decision=suspension, appellant=shop.owner, text="Inspection passed yesterday.")
    services.appeal_decide(appeal=appeal, moderator=other, grant=True, answer="Inspection report seen")
    shop.refresh_from_db()
    assert shop.suspended_until is None and not hidden(stall)


def test_revoking_points_lifts_the_automatic_suspension_they_caused():
    mod, other = moderator(), moderator()
    shop = make_shop()
    _points(shop, 3, mod)
    last = _points(shop, 3, mod)  # 24 points
    shop.refresh_from_db()
    assert shop.suspended_until
    appeal = services.appeal_file(decision=last, appellant=shop.owner, text="This second one was a duplicate case.")
    services.appeal_decide(appeal=appeal, moderator=other, grant=True, answer="Duplicate, indeed")
    shop.refresh_from_db()
    assert shop.suspended_until is None and selectors.shop_penalty_points(shop=shop) == 12
    assert Decision.objects.get(action=A.SUSPEND, automatic=True).revoked_at is not None


# --- The audit log ------------------------------------------------------------------------------------


def test_the_audit_log_cannot_be_changed_or_deleted():
    stall = publish()
    reported_enough(stall)
    entry = AuditEntry.objects.get()
    entry.reason = "rewritten history"
    with pytest.raises(AuditLogImmutable):
        entry.save()
    with pytest.raises(AuditLogImmutable):
        entry.delete()
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.all().delete()
    # Below the ORM, the database itself refuses.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE moderation_auditentry SET reason = 'rewritten' WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.reason != "rewritten"


# --- Areas --------------------------------------------------------------------------------------------


def test_areas_and_scoping():
    here = moderator()
    assert areas.moderator_areas(here) == {areas.area_of_point(JINGAN.lat, JINGAN.lng)}
    assert areas.moderator_areas(superuser()) is None
    jingan_shop, pudong_shop = make_shop(at=JINGAN), make_shop(at=PUDONG)
    from apps.shops.models import Shop

    assert list(areas.scope_located(Shop.objects.all(), here)) == [jingan_shop]
    assert areas.located_in_scope(here, jingan_shop) and not areas.located_in_scope(here, pudong_shop)
    assert areas.area_parse(f"{areas.area_of_point(JINGAN.lat, JINGAN.lng):x}") == areas.area_of_point(
        JINGAN.lat, JINGAN.lng
    )
    with pytest.raises(ValueError):
        areas.area_parse("not a cell")


def test_area_assignment_is_for_superusers_and_audited():
    boss = superuser()
    mod = moderator(at=None)
    cell = areas.area_of_point(PUDONG.lat, PUDONG.lng)
    with pytest.raises(NotAllowed):
        services.moderator_area_assign(moderator=mod, cell=cell, by=moderator())
    area = services.moderator_area_assign(moderator=mod, cell=cell, by=boss)
    assert services.moderator_area_assign(moderator=mod, cell=cell, by=boss) == area
    assert AuditEntry.objects.filter(action="area.assign").count() == 1
    with pytest.raises(services.NotApplicable):
        services.moderator_area_assign(moderator=neighbour(), cell=cell, by=boss)
    with pytest.raises(services.NotApplicable):
        services.moderator_area_assign(moderator=mod, cell=12345, by=boss)


def test_granting_an_appeal_against_a_ban_that_followed_a_hold_reopens_the_account_fully():
    mod, other = moderator(), moderator()
    person = neighbour()
    own = publish(person)
    reported_enough(person, n=6, reason="harassment")
    person.refresh_from_db()
    assert person.is_suspended and hidden(own)
    decision = services.case_decide(case=Case.objects.get(), moderator=mod, action=A.BAN, reason="Threats")
    appeal = services.appeal_file(decision=decision, appellant=person, text="Those messages were not mine at all.")
    services.appeal_decide(appeal=appeal, moderator=other, grant=True, answer="Account was shared, resolved")
    person.refresh_from_db()
    assert person.is_active and not person.is_suspended and not hidden(own)
