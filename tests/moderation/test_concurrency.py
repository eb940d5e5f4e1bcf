"""Two moderators deciding the same case at the same moment, on PostgreSQL: one wins, the other is
told, and only the winner's decision exists."""

import threading

import pytest
from django.db import connection

from apps.moderation import services
from apps.moderation.models import AuditEntry, Case, Decision
from tests.market.factories import publish
from tests.moderation.factories import moderator, reported_enough


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_moderators_at_once_one_wins():
    stall = publish()
    reported_enough(stall)
    case_id = Case.objects.get().pk
    first, second = moderator(), moderator()
    barrier = threading.Barrier(2)
    outcomes = {}

    def decide(mod, action):
        try:
            case = Case.objects.get(pk=case_id)  # both load it while it is still open
            barrier.wait(timeout=10)
            services.case_decide(case=case, moderator=mod, action=action, reason="Decided at the same moment")
            outcomes[mod.pk] = "won"
        except services.AlreadyDecided:
            outcomes[mod.pk] = "told"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(first, "hide")),
        threading.Thread(target=decide, args=(second, "dismiss")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["told", "won"]
    winner = next(pk for pk, outcome in outcomes.items() if outcome == "won")
    case = Case.objects.get(pk=case_id)
    assert case.decided_by_id == winner
    assert Decision.objects.exclude(action="auto_hide").get().moderator_id == winner
    assert AuditEntry.objects.filter(action__in=["case.hide", "case.dismiss"]).count() == 1
