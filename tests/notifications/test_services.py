"""The delivery state machine: scheduling in residents' time zones, claims, hand-off, recovery,
retries and bounces. A real SMTP server on loopback stands in for the outside world."""

import smtplib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.mail import get_connection
from django.utils import timezone

from apps.notifications import services
from apps.notifications.kinds import Kind
from apps.notifications.models import EmailDelivery
from tests.accounts.factories import ResidentFactory
from tests.market.factories import make_shop, publish

from .conftest import free_port, neighbour

pytestmark = pytest.mark.django_db

S = EmailDelivery.Status


def _periods(resident):
    return sorted(EmailDelivery.objects.filter(resident=resident).values_list("period", flat=True))


def _owed(resident, period="D2026-01-01"):
    """A digest owed to a resident who has something new (a stall next door)."""
    return EmailDelivery.objects.create(
        resident=resident, kind="digest", period=period, not_before=timezone.now() - timedelta(seconds=1)
    )


@pytest.fixture
def news():
    """Something new next to Jing'an for every digest."""
    return publish(shop=make_shop(), title="Fresh noodles")


# --- Scheduling -------------------------------------------------------------------------------


def test_due_in_each_residents_own_time_zone():
    shanghai = neighbour(digest="daily", digest_hour=8, time_zone="Asia/Shanghai")
    new_york = neighbour(digest="daily", digest_hour=20, time_zone="America/New_York")
    berlin = neighbour(digest="weekly", digest_weekday=0, digest_hour=9, time_zone="Europe/Berlin")
    off = neighbour(digest="off")
    # Monday 30 Nov 2026, 00:30 UTC: 08:30 in Shanghai, Sunday 19:30 in New York, 01:30 in Berlin.
    services.digests_queue_due(now=datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    assert _periods(shanghai) == ["D2026-11-30"]
    assert _periods(new_york) == [] and _periods(berlin) == []
    # 01:05 UTC: 20:05 on Sunday in New York; Shanghai already has Monday's.
    services.digests_queue_due(now=datetime(2026, 11, 30, 1, 5, tzinfo=UTC))
    assert _periods(new_york) == ["D2026-11-29"] and _periods(shanghai) == ["D2026-11-30"]
    # 08:10 UTC: 09:10 on Monday in Berlin: the weekly digest of ISO week 49.
    services.digests_queue_due(now=datetime(2026, 11, 30, 8, 10, tzinfo=UTC))
    assert _periods(berlin) == ["W2026-49"]
    # Next day in Shanghai: a new period.
    services.digests_queue_due(now=datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    assert _periods(shanghai) == ["D2026-11-30", "D2026-12-01"]
    assert _periods(off) == []


def test_a_weekly_digest_missed_on_its_day_still_comes_that_week():
    r = neighbour(digest="weekly", digest_weekday=2, digest_hour=18, time_zone="Asia/Shanghai")
    # Wednesday 2 Dec 2026, 17:59 in Shanghai: not yet; Thursday morning (beat was down): due.
    services.digests_queue_due(now=datetime(2026, 12, 2, 9, 59, tzinfo=UTC))
    assert _periods(r) == []
    services.digests_queue_due(now=datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    assert _periods(r) == ["W2026-49"]


def test_a_second_beat_queues_nobody_twice():
    residents = [neighbour(digest="daily", digest_hour=0) for _ in range(5)]
    now = timezone.now()
    first = services.digests_queue_due(now=now, batch_size=2)
    second = services.digests_queue_due(now=now, batch_size=2)
    assert first >= 5 and second == 0
    for r in residents:
        assert EmailDelivery.objects.filter(resident=r).count() == 1


def test_queueing_sends_batches_once_committed(django_capture_on_commit_callbacks, news):
    residents = [neighbour(digest="daily", digest_hour=0) for _ in range(5)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.digests_queue_due(batch_size=2)
    assert mail.outbox == []  # nothing leaves inside the transaction
    assert len(callbacks) >= 3  # one task per batch of two
    for callback in callbacks:
        callback()
    for r in residents:
        assert len([m for m in mail.outbox if r.email in m.to]) == 1
        assert EmailDelivery.objects.get(resident=r).status == S.SENT


def test_residents_without_preferences_get_the_defaults():
    r = ResidentFactory()
    services.preferences_create_missing()
    assert services.preferences_of(resident_id=r.pk).digest == "weekly"
    assert services.preferences_create_missing() == 0


# --- Claims and idempotency -------------------------------------------------------------------


def test_a_redelivered_task_sends_nothing_twice(news):
    d = _owed(neighbour())
    first = services.deliveries_send(delivery_ids=[d.pk])
    again = services.deliveries_send(delivery_ids=[d.pk])
    assert first["sent"] == 1 and again["claimed"] == 0
    assert len(mail.outbox) == 1
    d.refresh_from_db()
    assert d.status == S.SENT and d.message_id and d.finished_at and d.claim is not None


def test_a_delivery_another_worker_holds_is_left_alone(news):
    d = _owed(neighbour())
    EmailDelivery.objects.filter(pk=d.pk).update(status=S.SENDING, claim=uuid.uuid4(), claimed_at=timezone.now())
    assert services.deliveries_send(delivery_ids=[d.pk])["claimed"] == 0
    assert mail.outbox == []


def test_a_retry_waiting_out_its_backoff_is_not_taken_early(news):
    d = _owed(neighbour())
    EmailDelivery.objects.filter(pk=d.pk).update(not_before=timezone.now() + timedelta(minutes=5))
    assert services.deliveries_send(delivery_ids=[d.pk])["claimed"] == 0


def test_a_stale_sending_claim_is_sent_again_once_and_the_old_worker_is_fenced_off(settings, news):
    """A worker claimed the delivery and died (or stalled) before handing it over."""
    d = _owed(neighbour())
    token, claimed = services._claim([d.pk], timezone.now())
    assert [c.pk for c in claimed] == [d.pk]
    later = timezone.now() + timedelta(seconds=settings.JIEFANG_EMAIL_CLAIM_LEASE_S + 1)
    assert services.deliveries_recover(now=later)["released"] == 1
    # The stalled worker wakes up: it can no longer hand the message over.
    with get_connection() as connection:
        assert services._send_one(claimed[0], token, connection, timezone.now()) == "lost"
    assert mail.outbox == []
    services.deliveries_send(delivery_ids=[d.pk], now=later)
    assert len(mail.outbox) == 1
    d.refresh_from_db()
    assert d.status == S.SENT and "sent again" in d.error


def test_a_fresh_claim_is_not_recovered(news):
    d = _owed(neighbour())
    services._claim([d.pk], timezone.now())
    assert services.deliveries_recover()["released"] == 0
    d.refresh_from_db()
    assert d.status == S.SENDING


def test_a_stale_hand_off_counts_as_sent_and_is_never_resent(settings, news):
    """The worker died after the point of no return: the server may have the message."""
    d = _owed(neighbour())
    EmailDelivery.objects.filter(pk=d.pk).update(status=S.HANDED, claim=uuid.uuid4(), claimed_at=timezone.now())
    later = timezone.now() + timedelta(seconds=settings.JIEFANG_EMAIL_CLAIM_LEASE_S + 1)
    assert services.deliveries_recover(now=later)["assumed_sent"] == 1
    services.deliveries_send(delivery_ids=[d.pk], now=later)
    assert mail.outbox == []
    d.refresh_from_db()
    assert d.status == S.SENT and "counted as sent" in d.error


def test_a_lost_task_is_queued_again(settings, django_capture_on_commit_callbacks, news):
    d = _owed(neighbour())
    long_ago = timezone.now() - timedelta(seconds=settings.JIEFANG_DIGEST_REQUEUE_AFTER_S + 1)
    EmailDelivery.objects.filter(pk=d.pk).update(not_before=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_recover()["requeued"] == 1
    d.refresh_from_db()
    assert d.status == S.SENT and len(mail.outbox) == 1


def test_a_recent_queued_delivery_is_not_queued_twice(django_capture_on_commit_callbacks, news):
    _owed(neighbour())
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.deliveries_recover()["requeued"] == 0
    assert callbacks == []


def test_turned_off_after_queueing_sends_nothing(news):
    r = neighbour()
    d = _owed(r)
    services.preferences_update(resident=r, digest="off")
    assert services.deliveries_send(delivery_ids=[d.pk])["empty"] == 1
    assert mail.outbox == []


# --- A real SMTP server -------------------------------------------------------------------------


def test_handed_over_smtp_with_our_message_id(smtp_server, news):
    r = neighbour()
    d = _owed(r)
    assert services.deliveries_send(delivery_ids=[d.pk])["sent"] == 1
    (received,) = smtp_server.to(r.email)
    d.refresh_from_db()
    assert d.message_id.encode() in received.data and b"List-Unsubscribe-Post" in received.data
    assert d.status == S.SENT


def test_a_bounce_is_recorded_and_the_batch_goes_on(smtp_server, news):
    ok1 = neighbour()
    bounce = ResidentFactory(home=ok1.point, email="bounce-me@example.org")
    ok2 = neighbour()
    ids = [_owed(r).pk for r in (ok1, bounce, ok2)]
    counts = services.deliveries_send(delivery_ids=ids)
    assert counts["sent"] == 2 and counts["failed"] == 1
    assert len(smtp_server.to(ok1.email)) == 1 and len(smtp_server.to(ok2.email)) == 1
    failed = EmailDelivery.objects.get(resident=bounce)
    assert failed.status == S.FAILED and failed.smtp_code == 550
    assert "No such mailbox" in failed.error and failed.finished_at


def test_a_temporary_refusal_is_retried_later_with_backoff(smtp_server, news):
    busy = ResidentFactory(home=neighbour().point, email="busy-now@example.org")
    d = _owed(busy)
    before = timezone.now()
    counts = services.deliveries_send(delivery_ids=[d.pk])
    assert counts["retry"] == 1
    d.refresh_from_db()
    assert d.status == S.QUEUED and d.attempts == 1 and d.smtp_code == 451
    assert before + timedelta(seconds=40) < d.not_before < before + timedelta(seconds=80)
    # tries run out: failed for good, visible in the admin
    EmailDelivery.objects.filter(pk=d.pk).update(attempts=services.MAX_FAILURES - 1, not_before=timezone.now())
    services.deliveries_send(delivery_ids=[d.pk])
    d.refresh_from_db()
    assert d.status == S.FAILED and d.attempts == services.MAX_FAILURES


def test_a_mail_server_that_cannot_be_reached_sends_the_batch_back(settings, news):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    deliveries = [_owed(neighbour()) for _ in range(3)]
    counts = services.deliveries_send(delivery_ids=[d.pk for d in deliveries])
    assert counts["retry"] == 3 and counts["failed"] == 0
    for d in deliveries:
        d.refresh_from_db()
        assert d.status == S.QUEUED and d.attempts == 1 and d.not_before > timezone.now()


def test_a_hand_off_refused_over_smtp_delivers_nothing(smtp_server, news):
    """Fencing at the wire: the message is cut off before its final dot, so the server drops it."""
    r = neighbour()
    d = _owed(r)
    token, (claimed,) = services._claim([d.pk], timezone.now())
    EmailDelivery.objects.filter(pk=d.pk).update(claim=uuid.uuid4())  # someone else has it now
    connection = get_connection()
    assert services._send_one(claimed, token, connection, timezone.now()) == "lost"
    # the same connection object goes on working for the next message
    other = _owed(neighbour())
    token2, (claimed2,) = services._claim([other.pk], timezone.now())
    assert services._send_one(claimed2, token2, connection, timezone.now()) == "sent"
    connection.close()
    assert smtp_server.to(r.email) == [] and len(smtp_server.messages) == 1


def test_classify_smtp_errors():
    from apps.notifications.mail import classify

    assert classify(smtplib.SMTPRecipientsRefused({"a@x": (550, b"no")})) == ("permanent", 550)
    assert classify(smtplib.SMTPRecipientsRefused({"a@x": (452, b"full")})) == ("transient", 452)
    assert classify(smtplib.SMTPDataError(554, b"spam")) == ("permanent", 554)
    assert classify(smtplib.SMTPDataError(421, b"later")) == ("transient", 421)
    assert classify(smtplib.SMTPServerDisconnected("bye"))[0] == "connection"
    assert classify(smtplib.SMTPAuthenticationError(535, b"bad"))[0] == "connection"
    assert classify(ConnectionRefusedError())[0] == "connection"


# --- Immediate e-mails ----------------------------------------------------------------------------


def test_a_deal_goes_by_email_at_once_in_the_readers_language(django_capture_on_commit_callbacks):
    buyer = neighbour(language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        n = services.notification_send(
            recipient_id=buyer.pk, kind=Kind.DEAL, params={"seller": "老王", "title": "自行车"}, url="/market/"
        )
    (message,) = mail.outbox
    assert "老王" in message.body and message.to == [buyer.email]
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    d = EmailDelivery.objects.get(resident=buyer)
    assert d.period == f"N{n.pk}" and d.status == S.SENT and d.kind == "notification"


def test_no_email_when_the_resident_turned_that_kind_off(django_capture_on_commit_callbacks):
    r = neighbour(email_deals=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send(recipient_id=r.pk, kind=Kind.DEAL, params={"seller": "A", "title": "B"})
        services.notification_send(recipient_id=r.pk, kind=Kind.VOUCH, params={"voucher": "A"})
    assert mail.outbox == [] and EmailDelivery.objects.count() == 0


def test_read_in_the_app_before_the_email_left_means_no_email(django_capture_on_commit_callbacks):
    r = neighbour()
    with django_capture_on_commit_callbacks(execute=False):
        n = services.notification_send(
            recipient_id=r.pk, kind=Kind.MODERATION, params={"subject": "x", "decision": "y"}
        )
    services.notification_mark_read(resident=r, notification_id=n.pk)
    d = EmailDelivery.objects.get(resident=r)
    assert services.deliveries_send(delivery_ids=[d.pk])["empty"] == 1
    assert mail.outbox == []


def test_send_many_emails_only_those_who_want_it(django_capture_on_commit_callbacks):
    a, b, c = neighbour(), neighbour(email_messages=False), neighbour()
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send_many(
            recipient_ids=[a.pk, b.pk, c.pk, a.pk], kind=Kind.MESSAGE, params={"sender": "S", "preview": "hi"}
        )
    assert sorted(m.to[0] for m in mail.outbox) == sorted([a.email, c.email])


def test_admin_requeues_a_failed_email(admin_client, django_capture_on_commit_callbacks, news):
    d = _owed(neighbour())
    EmailDelivery.objects.filter(pk=d.pk).update(status=S.FAILED, attempts=5, error="550 gone")
    with django_capture_on_commit_callbacks(execute=True):
        resp = admin_client.post(
            "/admin/notifications/emaildelivery/", {"action": "requeue", "_selected_action": [d.pk]}
        )
    assert resp.status_code == 302
    d.refresh_from_db()
    assert d.status == S.SENT and len(mail.outbox) == 1


def test_moderation_decisions_go_by_email_once_and_only_if_wanted(django_capture_on_commit_callbacks):
    """Moderation sends its own e-mail (reasons, appeal link); the preference decides whether it goes."""
    from apps.moderation import services as moderation
    from apps.moderation.models import Case, Decision
    from tests.moderation.factories import moderator, reported_enough

    wants, declines = neighbour(), neighbour(email_moderation=False)
    for seller in (wants, declines):
        stall = publish(seller)
        with django_capture_on_commit_callbacks(execute=True):
            reported_enough(stall, reason="spam")
            case = Case.objects.latest("pk")
            moderation.case_decide(
                case=case, moderator=moderator(), action=Decision.Action.WARN, reason="Posted 5 times"
            )
    to_wants = [m for m in mail.outbox if m.to == [wants.email]]
    assert len(to_wants) == 2 and "Posted 5 times" in to_wants[1].body  # the hold, then the warning
    assert [m for m in mail.outbox if m.to == [declines.email]] == []
    assert EmailDelivery.objects.filter(kind="notification").count() == 0  # no second, generic copy
