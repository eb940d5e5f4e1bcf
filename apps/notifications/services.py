"""Writes of the notifications app: in-app notifications, e-mail preferences and unsubscribing,
and the e-mail deliveries (the digest scheduler, the claim → hand-off → sent state machine and its
recovery). docs/digest.md walks through the guarantees."""

from __future__ import annotations

import logging
import random
import uuid
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.chat import events
from apps.core.errors import DomainError
from apps.core.outbox import task_queue_on_commit, tasks_queue_on_commit

from . import emails, mail
from .digest import DigestBuilder, digest_since
from .kinds import Kind
from .models import (
    EMAIL_PREFERENCE_OF_KIND,
    EmailDelivery,
    Notification,
    NotificationPreferences,
    time_zone_is_known,
)
from .selectors import unread_cache_key

log = logging.getLogger(__name__)

Status = EmailDelivery.Status
Digest = NotificationPreferences.Digest


class NotificationNotFound(DomainError):
    status_code = 404
    code = "not_found"


class PreferenceInvalid(DomainError):
    code = "invalid_preference"


class UnsubscribeLinkInvalid(DomainError):
    code = "invalid_token"


# --- In-app notifications -------------------------------------------------------------------


def _email_wanted(recipient_ids: list[int], kind: str) -> list[int]:
    """Those of the recipients whose preferences send this kind by e-mail at once."""
    field = EMAIL_PREFERENCE_OF_KIND.get(kind)
    if field is None or not recipient_ids:
        return []
    stored = dict(
        NotificationPreferences.objects.filter(resident_id__in=recipient_ids).values_list("resident_id", field)
    )
    default = NotificationPreferences._meta.get_field(field).default
    return [rid for rid in recipient_ids if stored.get(rid, default)]


def email_wanted(*, resident_id: int, kind: str) -> bool:
    """Whether the resident wants this kind of notification by e-mail at once."""
    return bool(_email_wanted([resident_id], kind))


def _emails_queue(notifications: list[Notification]) -> None:
    """One delivery row per notification to e-mail, sent by a task once this transaction commits."""
    if not notifications:
        return
    now = timezone.now()
    rows = EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(
                resident_id=n.recipient_id,
                kind=EmailDelivery.Kind.NOTIFICATION,
                period=f"N{n.pk}",
                notification=n,
                not_before=now,
            )
            for n in notifications
        ]
    )
    ids = [row.pk for row in rows]
    from .tasks import delivery_send

    tasks_queue_on_commit(delivery_send, [(pk,) for pk in ids])


def _bell_on_commit(recipient_ids: list[int], event_type: str) -> None:
    """The bell of each recipient's open pages shows the new unread count, live, once committed
    (the count is read now, inside the transaction that changed it). Drops the counts kept for
    pages (selectors.notifications_unread_count): now, for what this transaction reads next, and once
    committed, against a page that kept the old count in between."""
    keys = [unread_cache_key(rid) for rid in recipient_ids]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
    counts = dict(
        Notification.objects.filter(recipient_id__in=recipient_ids, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("id"))
        .values_list("recipient_id", "n")
    )
    for rid in recipient_ids:
        events.publish_to_user_on_commit(rid, {"type": event_type, "unread": counts.get(rid, 0)})


@transaction.atomic
def notification_send(
    *, recipient_id: int, kind: str, params: dict | None = None, url: str = "", email: bool = True
) -> Notification:
    """Stores an in-app notification for one resident, and queues its e-mail when the resident
    wants this kind by e-mail (messages, deals, moderation decisions). `email=False` is for a
    caller that sends a richer e-mail of its own (moderation's, with the appeal link), which then
    asks `email_wanted` itself."""
    Kind(kind)  # an unknown kind is a programming error, not user input
    notification = Notification.objects.create(recipient_id=recipient_id, kind=kind, params=params or {}, url=url)
    if email and _email_wanted([recipient_id], kind):
        _emails_queue([notification])
    _bell_on_commit([recipient_id], "notification.created")
    return notification


@transaction.atomic
def notification_send_many(*, recipient_ids: list[int], kind: str, params: dict | None = None, url: str = "") -> int:
    Kind(kind)
    unique = sorted(set(recipient_ids))
    rows = [Notification(recipient_id=rid, kind=kind, params=params or {}, url=url) for rid in unique]
    Notification.objects.bulk_create(rows, batch_size=500)
    wanted = set(_email_wanted(unique, kind))
    _emails_queue([n for n in rows if n.recipient_id in wanted])
    _bell_on_commit(unique, "notification.created")
    return len(rows)


@transaction.atomic
def notification_mark_read(*, resident, notification_id: int) -> Notification:
    notification = Notification.objects.filter(pk=notification_id, recipient=resident).first()
    if notification is None:
        raise NotificationNotFound(_("No such notification."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        _bell_on_commit([resident.pk], "notification.read")
    return notification


@transaction.atomic
def notifications_mark_all_read(*, resident) -> int:
    marked = Notification.objects.filter(recipient=resident, read_at__isnull=True).update(read_at=timezone.now())
    if marked:
        _bell_on_commit([resident.pk], "notification.read")
    return marked


# --- Preferences ----------------------------------------------------------------------------


def preferences_of(*, resident_id: int) -> NotificationPreferences:
    """The stored preferences, or the defaults (unsaved) for a resident who never changed them."""
    prefs = NotificationPreferences.objects.filter(resident_id=resident_id).first()
    return prefs or NotificationPreferences(resident_id=resident_id)


def _whole_number(value, *, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise PreferenceInvalid(message, field=field)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise PreferenceInvalid(message, field=field) from None
    if not low <= number <= high:
        raise PreferenceInvalid(message, field=field)
    return number


@transaction.atomic
def preferences_update(
    *,
    resident,
    digest: str | None = None,
    digest_hour: int | None = None,
    digest_weekday: int | None = None,
    time_zone: str | None = None,
    email_messages: bool | None = None,
    email_deals: bool | None = None,
    email_moderation: bool | None = None,
) -> NotificationPreferences:
    prefs, _created = NotificationPreferences.objects.select_for_update().get_or_create(resident_id=resident.pk)
    if digest is not None:
        if digest not in Digest.values:
            raise PreferenceInvalid(_("Choose off, daily or weekly."), field="digest")
        prefs.digest = digest
    if digest_hour is not None:
        prefs.digest_hour = _whole_number(
            digest_hour, field="digest_hour", low=0, high=23, message=_("The hour must be a whole number from 0 to 23.")
        )
    if digest_weekday is not None:
        prefs.digest_weekday = _whole_number(
            digest_weekday,
            field="digest_weekday",
            low=0,
            high=6,
            message=_("The weekday must be from 0 (Monday) to 6 (Sunday)."),
        )
    if time_zone is not None:
        if not time_zone_is_known(time_zone):
            raise PreferenceInvalid(
                _("“%(zone)s” is not a time zone we know, such as Asia/Shanghai.") % {"zone": str(time_zone)[:64]},
                field="time_zone",
            )
        prefs.time_zone = time_zone
    for name, value in (
        ("email_messages", email_messages),
        ("email_deals", email_deals),
        ("email_moderation", email_moderation),
    ):
        if value is not None:
            if not isinstance(value, bool):
                raise PreferenceInvalid(_("Say yes or no."), field=name)
            setattr(prefs, name, value)
    prefs.save()
    return prefs


def preferences_create_missing() -> int:
    """Gives every active resident without preferences the defaults, so that the scheduler's
    queries can read one table. Idempotent; a race with a resident saving their own is harmless."""
    from apps.accounts.models import Resident

    missing = Resident.objects.filter(is_active=True, notification_preferences__isnull=True).values_list(
        "pk", flat=True
    )
    created = 0
    batch: list[int] = []
    for pk in missing.iterator(chunk_size=2000):
        batch.append(pk)
        if len(batch) == 2000:
            created += len(_prefs_bulk(batch))
            batch = []
    if batch:
        created += len(_prefs_bulk(batch))
    return created


def _prefs_bulk(ids: list[int]) -> list:
    return NotificationPreferences.objects.bulk_create(
        [NotificationPreferences(resident_id=pk) for pk in ids], ignore_conflicts=True
    )


# --- Unsubscribe ----------------------------------------------------------------------------


def unsubscribe_read(*, token: str) -> tuple[int, str]:
    """(resident id, scope) of a signed unsubscribe token; a forged, damaged or foreign token is
    refused the same way, saying nothing about why."""
    try:
        data = signing.loads(token, salt=emails.UNSUBSCRIBE_SALT)
        resident_id, scope = int(data["r"]), str(data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise UnsubscribeLinkInvalid(_("This unsubscribe link is not valid. Open your e-mail settings instead."))
    if scope not in emails.UNSUBSCRIBE_SCOPES:
        raise UnsubscribeLinkInvalid(_("This unsubscribe link is not valid. Open your e-mail settings instead."))
    from apps.accounts.models import Resident

    if not Resident.objects.filter(pk=resident_id).exists():
        raise UnsubscribeLinkInvalid(_("This unsubscribe link is not valid. Open your e-mail settings instead."))
    return resident_id, scope


@transaction.atomic
def unsubscribe_apply(*, token: str) -> tuple[NotificationPreferences, str]:
    """Turns off what the token names. Safe to repeat: the second click changes nothing."""
    resident_id, scope = unsubscribe_read(token=token)
    prefs, _created = NotificationPreferences.objects.select_for_update().get_or_create(resident_id=resident_id)
    if scope == "digest":
        prefs.digest = Digest.OFF
    else:
        setattr(prefs, scope, False)
    prefs.save()
    return prefs, scope


# --- Digest scheduling ------------------------------------------------------------------------


def digest_period(frequency: str, local: datetime) -> str:
    """The period a local moment falls in: its date for a daily digest, its ISO week for a weekly one."""
    if frequency == Digest.DAILY:
        return f"D{local.date().isoformat()}"
    year, week, _weekday = local.isocalendar()
    return f"W{year}-{week:02d}"


def digest_is_due(prefs: NotificationPreferences, now: datetime) -> bool:
    """Whether the resident's digest hour has come in this period, in their own time zone (the
    same rule as `digests_due_query`, for one resident)."""
    local = now.astimezone(zoneinfo.ZoneInfo(prefs.time_zone))
    if prefs.digest == Digest.DAILY:
        return local.hour >= prefs.digest_hour
    if prefs.digest == Digest.WEEKLY:
        return (local.weekday(), local.hour) >= (prefs.digest_weekday, prefs.digest_hour)
    return False


def digests_due_query(*, time_zone: str, now: datetime):
    """Resident ids whose digest is due and not yet owed for the current period, in one zone."""
    local = now.astimezone(zoneinfo.ZoneInfo(time_zone))
    daily, weekly = digest_period(Digest.DAILY, local), digest_period(Digest.WEEKLY, local)

    def owed(period):
        return Exists(EmailDelivery.objects.filter(resident_id=OuterRef("resident_id"), period=period))

    daily_due = Q(digest=Digest.DAILY, digest_hour__lte=local.hour) & ~owed(daily)
    weekly_due = (
        Q(digest=Digest.WEEKLY)
        & (Q(digest_weekday__lt=local.weekday()) | Q(digest_weekday=local.weekday(), digest_hour__lte=local.hour))
        & ~owed(weekly)
    )
    return (
        NotificationPreferences.objects.filter(time_zone=time_zone, resident__is_active=True)
        .filter(daily_due | weekly_due)
        # Neighbours together: a batch then reads the same area again and again, warm in the caches.
        .order_by("resident__home_cell", "resident_id")
        .values_list("resident_id", "digest")
    ), {Digest.DAILY: daily, Digest.WEEKLY: weekly}


def digests_queue_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Finds residents whose digest hour has come (in their time zone) and owes each one digest for
    the period: rows inserted in batches, each batch queued as one task once committed. Run by beat
    every few minutes; running it twice at once queues nobody twice (the unique period)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.JIEFANG_DIGEST_BATCH
    preferences_create_missing()
    queued = 0
    zones = (
        NotificationPreferences.objects.exclude(digest=Digest.OFF)
        .values_list("time_zone", flat=True)
        .distinct()
        .order_by("time_zone")
    )
    for zone in list(zones):
        if not time_zone_is_known(zone):
            log.error("digest: unknown time zone %r in stored preferences; skipped", zone)
            continue
        query, periods = digests_due_query(time_zone=zone, now=now)
        due = list(query)
        for start in range(0, len(due), batch_size):
            queued += _digest_batch_queue(due[start : start + batch_size], periods=periods, now=now)
    return queued


@transaction.atomic
def _digest_batch_queue(chunk: list[tuple[int, str]], *, periods: dict, now: datetime) -> int:
    EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(resident_id=rid, kind=EmailDelivery.Kind.DIGEST, period=periods[freq], not_before=now)
            for rid, freq in chunk
        ],
        ignore_conflicts=True,
    )
    ids = list(
        EmailDelivery.objects.filter(
            resident_id__in=[rid for rid, _f in chunk], period__in=list(periods.values()), status=Status.QUEUED
        ).values_list("pk", flat=True)
    )
    _batch_queue_on_commit(ids)
    return len(ids)


def _batch_queue_on_commit(ids: list[int], countdown: int | None = None) -> None:
    if not ids:
        return
    from .tasks import deliveries_send

    task_queue_on_commit(deliveries_send, ids, countdown=countdown)


def deliveries_recover(*, now: datetime | None = None) -> dict[str, int]:
    """Puts right what a dead worker or a lost task left behind (docs/digest.md, "Recovery"):

    - SENDING for longer than the lease: the worker died before the hand-off, so nothing reached
      the mail server; the delivery is owed again (the claim token fences off a worker that
      is merely slow: it can no longer hand over);
    - HANDED for longer than the lease: the message went past the point of no return before the
      worker died; it counts as sent, never sent twice;
    - QUEUED well past its time: its task was lost (a worker's prefetched tasks die with it);
      queued again.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.JIEFANG_EMAIL_CLAIM_LEASE_S)
    stale = now - lease
    stale_ids = list(
        EmailDelivery.objects.filter(status=Status.SENDING, claimed_at__lt=stale).values_list("pk", flat=True)
    )
    released = EmailDelivery.objects.filter(pk__in=stale_ids, status=Status.SENDING, claimed_at__lt=stale).update(
        status=Status.QUEUED,
        claim=None,
        not_before=now,
        error=_("The worker stopped before handing it over; sent again."),
    )
    assumed = EmailDelivery.objects.filter(status=Status.HANDED, claimed_at__lt=stale).update(
        status=Status.SENT,
        finished_at=now,
        error=_("The worker stopped after handing it to the mail server; counted as sent."),
    )
    lost_before = now - timedelta(seconds=settings.JIEFANG_DIGEST_REQUEUE_AFTER_S)
    lost_ids = list(
        EmailDelivery.objects.filter(status=Status.QUEUED, not_before__lt=lost_before).values_list("pk", flat=True)
    )
    requeued = EmailDelivery.objects.filter(pk__in=lost_ids, status=Status.QUEUED, not_before__lt=lost_before).update(
        not_before=now
    )
    again = sorted(set(stale_ids) | set(lost_ids))
    batch = settings.JIEFANG_DIGEST_BATCH
    for start in range(0, len(again), batch):
        _batch_queue_on_commit(again[start : start + batch])
    return {"released": released, "assumed_sent": assumed, "requeued": requeued}


# --- Sending --------------------------------------------------------------------------------

# Seconds to wait before the next try after the n-th failure; Redis redelivers unacknowledged
# tasks after an hour, so no wait comes near that.
RETRY_BACKOFF_S = (60, 300, 900, 1800)
MAX_FAILURES = len(RETRY_BACKOFF_S) + 1


def _backoff(failures: int) -> int:
    base = RETRY_BACKOFF_S[min(failures, len(RETRY_BACKOFF_S)) - 1]
    return int(base * random.uniform(0.8, 1.2))


def _move(pk: int, *, token: uuid.UUID, from_status: tuple[str, ...], **fields) -> bool:
    """The one way a claimed delivery changes status: only from the expected status, and only by
    the holder of the claim. False when someone else has it now."""
    return EmailDelivery.objects.filter(pk=pk, claim=token, status__in=from_status).update(**fields) == 1


def _claim(delivery_ids: list[int], now: datetime) -> tuple[uuid.UUID, list[EmailDelivery]]:
    token = uuid.uuid4()
    EmailDelivery.objects.filter(
        pk__in=delivery_ids, status=Status.QUEUED, not_before__lte=now + timedelta(seconds=5)
    ).update(status=Status.SENDING, claim=token, claimed_at=now)
    claimed = list(
        EmailDelivery.objects.filter(claim=token, status=Status.SENDING)
        .select_related("resident", "resident__notification_preferences", "notification")
        .order_by("resident__home_cell", "pk")
    )
    return token, claimed


def _preferences(resident) -> NotificationPreferences:
    try:
        return resident.notification_preferences
    except NotificationPreferences.DoesNotExist:
        return NotificationPreferences(resident_id=resident.pk)


def _unread_messages(resident) -> int | None:
    """The chat app's count of unread messages (its own rule: direct and shop conversations)."""
    from apps.chat.selectors import unread_total

    return unread_total(resident=resident)


def _chat_residents(resident_ids: list[int]) -> set[int]:
    """Those of the residents who are in any conversation at all (a member, either side of a direct
    one, a shop's customer, or the owner or staff of a shop that has some): only they can have
    unread messages, so only they cost the chat app's count."""
    from apps.chat.models import Conversation, Member
    from apps.shops.models import Shop

    ids = list(resident_ids)
    found = set(Member.objects.filter(resident_id__in=ids).values_list("resident_id", flat=True))
    for field in ("resident_a_id", "resident_b_id", "resident_id"):
        found |= set(Conversation.objects.filter(**{f"{field}__in": ids}).values_list(field, flat=True))
    with_talk = Conversation.objects.filter(shop__isnull=False).values("shop_id")
    found |= set(Shop.objects.filter(pk__in=with_talk, owner_id__in=ids).values_list("owner_id", flat=True))
    found |= set(
        Shop.staff.through.objects.filter(shop_id__in=with_talk, resident_id__in=ids).values_list(
            "resident_id", flat=True
        )
    )
    return found


class _Batch:
    """What a batch of deliveries reads once: each resident's last digest, who has conversations,
    the stalls of followed shops, and the area news and rendered sections neighbours share."""

    def __init__(self, deliveries: list[EmailDelivery], now: datetime):
        self.now = now
        self.builder = DigestBuilder(now=now)
        self.fragments: dict = {}
        digests = [d for d in deliveries if d.kind == EmailDelivery.Kind.DIGEST]
        ids = [d.resident_id for d in digests]
        self.last_end = dict(
            EmailDelivery.objects.filter(
                resident_id__in=ids,
                kind=EmailDelivery.Kind.DIGEST,
                status__in=(Status.SENT, Status.HANDED, Status.EMPTY),
                window_end__isnull=False,
            )
            .values("resident_id")
            .annotate(last=Max("window_end"))
            .values_list("resident_id", "last")
        )
        self.talkers = _chat_residents(ids) if ids else set()
        self.windows = {}
        for d in digests:
            prefs = _preferences(d.resident)
            if prefs.digest != Digest.OFF:
                self.windows[d.resident_id] = self.since(d.resident, prefs)
        self.builder.prepare(self.windows)
        self.builder.prepare_areas(
            [
                (d.resident, self.windows[d.resident_id])
                for d in digests
                if d.resident_id in self.windows and d.resident.is_active and d.resident.email
            ]
        )

    def since(self, resident, prefs) -> datetime:
        return digest_since(
            resident=resident, frequency=prefs.digest, now=self.now, last_end=self.last_end.get(resident.pk)
        )

    def unread(self, resident) -> int | None:
        return _unread_messages(resident) if resident.pk in self.talkers else 0


def _compose(delivery: EmailDelivery, batch: _Batch):
    """(message or None, fields to record). None means there is nothing to send."""
    resident = delivery.resident
    prefs = _preferences(resident)
    if not resident.is_active or not resident.email:
        return None, {"summary": {"skipped": "inactive or no address"}}
    if delivery.kind == EmailDelivery.Kind.NOTIFICATION:
        notification = delivery.notification
        field = EMAIL_PREFERENCE_OF_KIND.get(notification.kind) if notification else None
        if notification is None or field is None or not getattr(prefs, field):
            return None, {"summary": {"skipped": "turned off"}}
        if notification.read_at is not None:
            return None, {"summary": {"skipped": "already read"}}
        return emails.notification_message(notification=notification, delivery=delivery), {}
    if prefs.digest == Digest.OFF:
        return None, {"summary": {"skipped": "digest off"}}
    since = batch.windows.get(resident.pk) or batch.since(resident, prefs)
    digest = batch.builder.build(resident=resident, since=since, unread_messages=batch.unread(resident))
    fields = {"window_start": since, "window_end": batch.now, "summary": digest.summary()}
    if digest.is_empty:
        return None, fields
    message = emails.digest_message(
        digest=digest, delivery=delivery, time_zone=prefs.time_zone, fragments=batch.fragments
    )
    return message, fields


def _fail_or_retry(delivery: EmailDelivery, token, *, failures: int, code, error: str, permanent: bool, now) -> str:
    fields = {"attempts": failures, "smtp_code": code, "error": error[:2000]}
    if permanent or failures >= MAX_FAILURES:
        _move(
            delivery.pk,
            token=token,
            from_status=(Status.SENDING, Status.HANDED),
            status=Status.FAILED,
            finished_at=now,
            **fields,
        )
        return "failed"
    wait = _backoff(failures)
    if _move(
        delivery.pk,
        token=token,
        from_status=(Status.SENDING, Status.HANDED),
        status=Status.QUEUED,
        claim=None,
        not_before=now + timedelta(seconds=wait),
        **fields,
    ):
        from .tasks import delivery_send

        task_queue_on_commit(delivery_send, delivery.pk, countdown=wait)
    return "retry"


def _send_one(delivery: EmailDelivery, token, connection, now: datetime, batch: _Batch | None = None) -> str:
    try:
        message, fields = _compose(delivery, batch or _Batch([delivery], now))
    except Exception as exc:  # a bug in one digest must not stop the batch; recorded for the admin
        log.exception("digest: could not compose delivery %s", delivery.pk)
        _move(
            delivery.pk,
            token=token,
            from_status=(Status.SENDING,),
            status=Status.FAILED,
            finished_at=now,
            attempts=delivery.attempts + 1,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        return "failed"
    if message is None:
        _move(delivery.pk, token=token, from_status=(Status.SENDING,), status=Status.EMPTY, finished_at=now, **fields)
        return "empty"
    message_id = message.extra_headers["Message-ID"]
    handed = []

    def handoff() -> bool:
        ok = _move(
            delivery.pk,
            token=token,
            from_status=(Status.SENDING,),
            status=Status.HANDED,
            message_id=message_id,
            **fields,
        )
        handed.append(ok)
        return ok

    try:
        mail.deliver(connection, message, handoff=handoff)
    except mail.HandoffRefused:
        return "lost"
    except Exception as exc:
        kind, code = mail.classify(exc)
        if kind == "connection" and handed == [True]:
            # The line dropped after the message was handed over: it may well have arrived, and
            # sending it again risks a duplicate; it counts as sent (docs/digest.md).
            _move(
                delivery.pk,
                token=token,
                from_status=(Status.HANDED,),
                status=Status.SENT,
                finished_at=now,
                error=_("No answer after the hand-off; counted as sent."),
            )
            raise mail.ConnectionTrouble(str(exc)) from exc
        if kind == "connection":
            raise mail.ConnectionTrouble(str(exc)) from exc
        return _fail_or_retry(
            delivery,
            token,
            failures=delivery.attempts + 1,
            code=code,
            error=f"{type(exc).__name__}: {exc}",
            permanent=kind == "permanent",
            now=now,
        )
    _move(delivery.pk, token=token, from_status=(Status.HANDED,), status=Status.SENT, finished_at=timezone.now())
    return "sent"


def deliveries_send(*, delivery_ids: list[int], now: datetime | None = None, connection=None) -> dict[str, int]:
    """Sends those of these deliveries that are still owed, over one mail connection.

    Each is claimed by a conditional UPDATE (QUEUED → SENDING with a fresh token), so a task that
    runs twice, or two workers with the same ids, send each e-mail once. One bad address is
    recorded and the batch goes on; a mail server that cannot be reached sends the rest of the
    batch back to the queue, to be tried again after a backoff.
    """
    now = now or timezone.now()
    token, claimed = _claim(delivery_ids, now)
    counts = {"sent": 0, "empty": 0, "failed": 0, "retry": 0, "lost": 0, "claimed": len(claimed)}
    if not claimed:
        return counts
    own_connection = connection is None
    connection = connection or get_connection()
    batch = _Batch(claimed, now)
    try:
        for i, delivery in enumerate(claimed):
            try:
                outcome = _send_one(delivery, token, connection, now, batch)
            except mail.ConnectionTrouble as exc:
                rest = claimed[i:]
                failures = max(d.attempts for d in rest) + 1
                code = None
                waiting = [
                    d.pk
                    for d in rest
                    if _fail_or_retry_quiet(d, token, failures=d.attempts + 1, error=str(exc), now=now, code=code)
                ]
                counts["retry"] += len(waiting)
                log.warning("digest: mail server trouble (%s); %d deliveries wait", exc, len(waiting))
                if waiting:
                    _batch_queue_on_commit(waiting, countdown=_backoff(failures))
                break
            counts[outcome] += 1
    finally:
        if own_connection:
            try:
                connection.close()
            except Exception:  # closing a broken connection must not hide what happened
                log.warning("digest: could not close the mail connection", exc_info=True)
    return counts


def _fail_or_retry_quiet(delivery: EmailDelivery, token, *, failures: int, error: str, now, code) -> bool:
    """Back to the queue for a later batch (True), or failed for good after too many tries."""
    fields = {"attempts": failures, "smtp_code": code, "error": error[:2000]}
    if failures >= MAX_FAILURES:
        _move(delivery.pk, token=token, from_status=(Status.SENDING,), status=Status.FAILED, finished_at=now, **fields)
        return False
    return _move(
        delivery.pk,
        token=token,
        from_status=(Status.SENDING,),
        status=Status.QUEUED,
        claim=None,
        not_before=now + timedelta(seconds=_backoff(failures)),
        **fields,
    )


@transaction.atomic
def delivery_requeue(*, delivery_id: int) -> bool:
    """A moderator sends a failed e-mail again (the admin's action)."""
    moved = EmailDelivery.objects.filter(pk=delivery_id, status=Status.FAILED).update(
        status=Status.QUEUED, claim=None, attempts=0, not_before=timezone.now(), error=""
    )
    if moved:
        _batch_queue_on_commit([delivery_id])
    return bool(moved)
