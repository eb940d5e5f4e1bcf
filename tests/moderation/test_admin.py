"""The moderators' admin as a permission matrix: an area moderator in their own area, one from
another area, a superuser and a plain resident, over the lists, the change pages and every action."""

import pytest
from django.urls import reverse

from apps.market.models import Stall
from apps.moderation import areas
from apps.moderation.models import Appeal, AuditEntry, Case, Decision, ModeratorArea
from tests.accounts.factories import JINGAN
from tests.market.factories import make_shop, publish
from tests.moderation.factories import PUDONG, moderator, neighbour, reported_enough, superuser

pytestmark = pytest.mark.django_db

CASES = reverse("admin:moderation_case_changelist")
A = Decision.Action


@pytest.fixture
def roles():
    return {
        "here": moderator(at=JINGAN),
        "there": moderator(at=PUDONG),
        "super": superuser(),
        "resident": neighbour(),
    }


@pytest.fixture
def shop_case():
    """A Jing'an shop's stall, reported by three neighbours: hidden pending review."""
    shop = make_shop(at=JINGAN, name="Jing'an Grocer")
    stall = publish(shop=shop, title="Organic kale (not really)")
    reported_enough(stall)
    return Case.objects.get()


def _act(client, user, case, action, **data):
    client.force_login(user)
    payload = {"action": action, "_selected_action": [case.pk], "apply": "1", "reason": "Checked the photos", **data}
    return client.post(CASES, payload, follow=True)


# --- Lists and change pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees"),
    [("here", True), ("there", False), ("super", True)],
)
def test_queue_lists_only_cases_of_ones_areas(client, roles, shop_case, role, sees):
    client.force_login(roles[role])
    page = client.get(CASES)
    assert page.status_code == 200
    assert ("Organic kale" in page.content.decode()) is sees
    change = client.get(reverse("admin:moderation_case_change", args=[shop_case.pk]))
    if sees:
        assert change.status_code == 200
        body = change.content.decode()
        assert "Organic kale" in body and "case-action-dismiss" in body
    else:
        # Django's admin answers for an object outside the queryset as for one that does not exist.
        assert change.status_code == 302 and change.url == reverse("admin:index")


def test_a_plain_resident_is_sent_to_the_admin_login(client, roles, shop_case):
    client.force_login(roles["resident"])
    for url in (
        CASES,
        reverse("admin:moderation_case_change", args=[shop_case.pk]),
        reverse("admin:moderation_dashboard"),
        reverse("admin:moderation_auditentry_changelist"),
        reverse("admin:moderation_appeal_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response.url


def test_staff_without_the_moderate_permission_sees_no_queue(client, shop_case):
    from tests.accounts.factories import ResidentFactory

    clerk = ResidentFactory(is_staff=True)
    client.force_login(clerk)
    assert client.get(CASES).status_code == 403


# --- Every action, over the matrix ---------------------------------------------------------------------

ACTIONS = [
    ("dismiss", {}, Case.Status.DISMISSED),
    ("hide", {}, Case.Status.UPHELD),
    ("warn", {}, Case.Status.UPHELD),
    ("points", {"tier": "2"}, Case.Status.UPHELD),
    ("suspend", {"days": "7"}, Case.Status.UPHELD),
    ("ban", {}, Case.Status.UPHELD),
]


@pytest.mark.parametrize(("action", "data", "status"), ACTIONS)
@pytest.mark.parametrize(("role", "allowed"), [("here", True), ("there", False), ("super", True), ("resident", False)])
def test_every_action_over_the_matrix(client, roles, shop_case, action, data, status, role, allowed):
    response = _act(client, roles[role], shop_case, action, **data)
    shop_case.refresh_from_db()
    if allowed:
        assert response.status_code == 200
        assert shop_case.status == status and shop_case.decided_by == roles[role]
        assert AuditEntry.objects.filter(action=f"case.{action}", actor=roles[role]).count() == 1
    else:
        assert shop_case.is_open
        assert not Decision.objects.exclude(action=A.AUTO_HIDE).exists()
        assert not AuditEntry.objects.exclude(action="case.auto_hide").exists()


@pytest.mark.parametrize(("role", "allowed"), [("here", True), ("there", False), ("super", True), ("resident", False)])
def test_restore_over_the_matrix(client, roles, shop_case, role, allowed):
    from apps.moderation import services

    services.case_decide(case=shop_case, moderator=roles["super"], action=A.HIDE, reason="Fake organic label")
    _act(client, roles[role], shop_case, "restore")
    stall = Stall.objects.get()
    assert (stall.status != Stall.Status.HIDDEN) is allowed


def test_an_action_first_asks_for_the_reason_and_without_one_does_nothing(client, roles, shop_case):
    client.force_login(roles["here"])
    page = client.post(CASES, {"action": "dismiss", "_selected_action": [shop_case.pk]})
    assert page.status_code == 200 and 'data-testid="action-form"' in page.content.decode()
    page = client.post(CASES, {"action": "dismiss", "_selected_action": [shop_case.pk], "apply": "1", "reason": ""})
    assert page.status_code == 200 and "This field is required" in page.content.decode()
    shop_case.refresh_from_db()
    assert shop_case.is_open


def test_the_second_moderator_is_told_the_case_was_decided(client, roles, shop_case):
    other = moderator(at=JINGAN, display_name="Second Mod")
    _act(client, roles["here"], shop_case, "hide")
    response = _act(client, other, shop_case, "dismiss")
    assert "already decided" in response.content.decode()
    shop_case.refresh_from_db()
    assert shop_case.status == Case.Status.UPHELD and shop_case.decided_by == roles["here"]


def test_bulk_actions_decide_each_selected_case(client, roles):
    stalls = [publish(title=f"Spam {i}") for i in range(3)]
    for stall in stalls:
        reported_enough(stall, n=1, reason="spam")
    far = publish(title="Far spam", seller=neighbour(home=PUDONG))
    reported_enough(far, n=1, reason="spam")
    client.force_login(roles["here"])
    ids = list(Case.objects.values_list("pk", flat=True))
    response = client.post(
        CASES, {"action": "hide", "_selected_action": ids, "apply": "1", "reason": "Spam posts"}, follow=True
    )
    assert "3 cases decided." in response.content.decode()
    assert Case.objects.filter(status=Case.Status.UPHELD).count() == 3
    assert Case.objects.get(title="Far spam").is_open


def test_queue_is_ordered_by_urgency_and_marks_old_cases(client, roles):
    from datetime import timedelta

    from django.utils import timezone

    mild, severe, old = publish(title="Mild"), publish(title="Severe"), publish(title="Old one")
    reported_enough(mild, n=1, reason="spam")
    reported_enough(severe, n=2, reason="scam")
    reported_enough(old, n=1, reason="other")
    Case.objects.filter(title="Old one").update(opened_at=timezone.now() - timedelta(hours=50))
    client.force_login(roles["here"])
    body = client.get(CASES).content.decode()
    assert body.index("Old one") < body.index("Severe") < body.index("Mild")
    assert "⚠ 50 h" in body
    assert "Old one" in client.get(CASES, {"overdue": "yes"}).content.decode()
    assert "Severe" not in client.get(CASES, {"overdue": "yes"}).content.decode()
    assert "Severe" in client.get(CASES, {"q": "Severe"}).content.decode()
    assert "Mild" not in client.get(CASES, {"top_reason__exact": "scam"}).content.decode()
    area = areas.area_of_point(JINGAN.lat, JINGAN.lng)
    assert "Severe" in client.get(CASES, {"area": str(area)}).content.decode()


# --- Appeals ------------------------------------------------------------------------------------------


def test_appeal_queue_and_the_other_moderator_rule(client, roles, shop_case):
    from apps.moderation import services

    decision = services.case_decide(
        case=shop_case, moderator=roles["here"], action=A.POINTS, reason="Fake label", tier=2
    )
    appeal = services.appeal_file(decision=decision, appellant=decision.subject, text="The kale is organic, see cert.")
    url = reverse("admin:moderation_appeal_changelist")
    payload = {"action": "grant", "_selected_action": [appeal.pk], "apply": "1", "answer": "Certificate checked"}
    client.force_login(roles["there"])
    assert "The kale" not in client.get(url).content.decode()
    client.post(url, payload)
    client.force_login(roles["here"])
    assert "The kale" in client.get(url).content.decode()
    response = client.post(url, payload, follow=True)
    assert "Another moderator" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.PENDING
    client.force_login(moderator(at=JINGAN))
    client.post(url, payload)
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.GRANTED


# --- The audit log is append-only for everyone -----------------------------------------------------------


def test_superusers_cannot_change_or_delete_audit_entries(client, roles, shop_case):
    entry = AuditEntry.objects.get()
    client.force_login(roles["super"])
    assert client.get(reverse("admin:moderation_auditentry_changelist")).status_code == 200
    change = client.get(reverse("admin:moderation_auditentry_change", args=[entry.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert (
        client.post(reverse("admin:moderation_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    client.post(reverse("admin:moderation_auditentry_change", args=[entry.pk]), {"reason": "rewritten"})
    entry.refresh_from_db()
    assert entry.reason != "rewritten"
    assert client.get(reverse("admin:moderation_auditentry_add")).status_code == 403
    response = client.post(
        reverse("admin:moderation_auditentry_changelist"), {"action": "delete_selected", "_selected_action": [entry.pk]}
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists() and response.status_code in (200, 302)


@pytest.mark.parametrize(("role", "sees"), [("here", True), ("there", False), ("super", True)])
def test_audit_log_is_scoped_by_area(client, roles, shop_case, role, sees):
    client.force_login(roles[role])
    body = client.get(reverse("admin:moderation_auditentry_changelist")).content.decode()
    assert ("case.auto_hide" in body) is sees


# --- Other apps' admin pages are scoped too, with links to the moderation history ---------------------------


@pytest.mark.parametrize(("role", "sees"), [("here", True), ("there", False), ("super", True)])
def test_shops_stalls_and_residents_are_scoped(client, roles, shop_case, role, sees):
    client.force_login(roles[role])
    shop = shop_case.shop
    stall = Stall.objects.get()
    person = neighbour(display_name="Jing'an Neighbour")
    for changelist, change, text in (
        ("admin:shops_shop_changelist", reverse("admin:shops_shop_change", args=[shop.pk]), "Jing&#x27;an Grocer"),
        ("admin:market_stall_changelist", reverse("admin:market_stall_change", args=[stall.pk]), "Organic kale"),
        (
            "admin:accounts_resident_changelist",
            reverse("admin:accounts_resident_change", args=[person.pk]),
            "Jing&#x27;an Neighbour",
        ),
    ):
        body = client.get(reverse(changelist)).content.decode()
        assert (text in body) is sees, changelist
        response = client.get(change)
        assert (response.status_code == 200) is sees, change
        if sees:
            assert "report cases" in response.content.decode()


def test_verify_action_refuses_shops_outside_the_area(client, roles):
    far_shop = make_shop(at=PUDONG, licence_number="91310115MA1234")
    client.force_login(roles["here"])
    client.post(reverse("admin:shops_shop_changelist"), {"action": "verify", "_selected_action": [far_shop.pk]})
    far_shop.refresh_from_db()
    assert not far_shop.is_verified
    from apps.shops import services as shop_services

    with pytest.raises(areas.OutsideArea):
        shop_services.shop_verify(shop=far_shop, moderator=roles["here"])
    client.force_login(roles["there"])
    client.post(reverse("admin:shops_shop_changelist"), {"action": "verify", "_selected_action": [far_shop.pk]})
    far_shop.refresh_from_db()
    assert far_shop.is_verified
    assert AuditEntry.objects.get(action="shop.verify").actor == roles["there"]


# --- Dashboard and areas ---------------------------------------------------------------------------------


def test_dashboard_counts_open_reports_and_this_weeks_actions(client, roles, shop_case):
    client.force_login(roles["here"])
    page = client.get(reverse("admin:moderation_dashboard"))
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="open-1">1<' in body and "case.auto_hide" in body
    client.force_login(roles["there"])
    body = client.get(reverse("admin:moderation_dashboard")).content.decode()
    assert 'data-testid="open-1">0<' in body


def test_only_superusers_assign_areas(client, roles):
    url = reverse("admin:moderation_moderatorarea_add")
    client.force_login(roles["here"])
    assert client.get(url).status_code == 403
    target = moderator(at=None)
    client.force_login(roles["super"])
    response = client.post(url, {"moderator": target.pk, "area": f"{PUDONG.lat}, {PUDONG.lng}"}, follow=True)
    assert response.status_code == 200
    assert ModeratorArea.objects.get(moderator=target).cell == areas.area_of_point(PUDONG.lat, PUDONG.lng)
    assert AuditEntry.objects.filter(action="area.assign", actor=roles["super"]).exists()
    bad = client.post(url, {"moderator": target.pk, "area": "not-a-cell"})
    assert bad.status_code == 200 and "H3 cell" in bad.content.decode()
    # An assignment's own page shows it, read-only (it once failed with a server error).
    assigned = ModeratorArea.objects.get(moderator=target)
    page = client.get(reverse("admin:moderation_moderatorarea_change", args=[assigned.pk]))
    assert page.status_code == 200 and areas.area_label(assigned.cell) in page.content.decode()


@pytest.mark.parametrize("action", ["grant", "refuse"])
@pytest.mark.parametrize(("role", "allowed"), [("here", True), ("there", False), ("super", True), ("resident", False)])
def test_appeal_actions_over_the_matrix(client, roles, shop_case, action, role, allowed):
    from apps.moderation import services

    author = moderator(at=JINGAN)  # decided by someone else than every role under test
    decision = services.case_decide(case=shop_case, moderator=author, action=A.WARN, reason="Misleading label")
    appeal = services.appeal_file(decision=decision, appellant=decision.subject, text="The label was correct, really.")
    url = reverse("admin:moderation_appeal_changelist")
    client.force_login(roles[role])
    change = client.get(reverse("admin:moderation_appeal_change", args=[appeal.pk]))
    assert (change.status_code == 200) is allowed
    client.post(url, {"action": action, "_selected_action": [appeal.pk], "apply": "1", "answer": "Looked at it"})
    appeal.refresh_from_db()
    expected = {"grant": Appeal.Status.GRANTED, "refuse": Appeal.Status.REFUSED}[action]
    assert appeal.status == (expected if allowed else Appeal.Status.PENDING)


# --- The decision page of one case (linked from its change page) ------------------------------------


CASE_ACTIONS = ("dismiss", "hide", "restore", "warn", "points", "suspend", "ban")


def _decide_url(case, action):
    return reverse("admin:moderation_case_decide", args=[case.pk, action])


@pytest.mark.parametrize(("role", "status"), [("here", 200), ("super", 200), ("there", 404), ("resident", 302)])
def test_the_decision_page_of_a_case_is_for_its_areas_moderators(client, roles, shop_case, role, status):
    client.force_login(roles[role])
    page = client.get(_decide_url(shop_case, "hide"))
    assert page.status_code == status
    response = client.post(_decide_url(shop_case, "hide"), {"apply": "1", "reason": "Checked the photos"})
    shop_case.refresh_from_db()
    if status == 200:
        assert 'data-testid="action-form"' in page.content.decode()
        assert response.status_code == 302
        assert response.url == reverse("admin:moderation_case_change", args=[shop_case.pk])
        assert shop_case.status == Case.Status.UPHELD and shop_case.decided_by == roles[role]
    else:
        assert response.status_code == status
        assert shop_case.is_open


def test_the_decision_page_needs_a_reason_and_knows_only_the_queues_actions(client, roles, shop_case):
    client.force_login(roles["here"])
    refused = client.post(_decide_url(shop_case, "dismiss"), {"apply": "1", "reason": ""})
    assert refused.status_code == 200 and 'data-testid="action-form"' in refused.content.decode()
    shop_case.refresh_from_db()
    assert shop_case.is_open
    assert client.get(_decide_url(shop_case, "delete_selected")).status_code == 404
    assert client.get(_decide_url(shop_case, "get_queryset")).status_code == 404


def test_the_change_page_links_to_the_decision_pages_outside_any_nested_form(client, roles, shop_case):
    client.force_login(roles["here"])
    body = client.get(reverse("admin:moderation_case_change", args=[shop_case.pk])).content.decode()
    decide = body[body.index('data-testid="case-actions"') :]
    decide = decide[: decide.index("</div>")]
    assert "<form" not in decide
    for name in CASE_ACTIONS:
        assert _decide_url(shop_case, name) in decide
