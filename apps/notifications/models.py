import zoneinfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .kinds import TEXTS, Kind


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")]

    def __str__(self):
        return self.text

    @property
    def text(self) -> str:
        template = TEXTS.get(self.kind)
        if template is None:
            return str(self.kind)
        try:
            return str(template) % self.params
        except (KeyError, TypeError, ValueError):
            return str(Kind(self.kind).label)


def default_time_zone() -> str:
    # A callable, so that the deployment's JIEFANG_TIME_ZONE never shows up as a model change.
    return settings.TIME_ZONE


def time_zone_is_known(name: str) -> bool:
    if not isinstance(name, str) or not name or len(name) > 64:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


class NotificationPreferences(models.Model):
    """How a resident wants to hear from Jiefang by e-mail. Residents without a row get the defaults
    (the scheduler creates the row the first time it looks at them)."""

    class Digest(models.TextChoices):
        OFF = "off", _("Off")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")

    resident = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    # Weekly by default: the digest should bring people back, never feel like spam.
    digest = models.CharField(_("nearby digest"), max_length=8, choices=Digest.choices, default=Digest.WEEKLY)
    digest_hour = models.PositiveSmallIntegerField(_("hour"), default=9)
    digest_weekday = models.PositiveSmallIntegerField(_("weekday"), default=5)  # Monday = 0: Saturday morning
    time_zone = models.CharField(_("time zone"), max_length=64, default=default_time_zone)
    # Kinds that also go by e-mail at once. All three ask something of the resident (an answer, a
    # confirmation, a decision about their own content), so they are on unless turned off.
    email_messages = models.BooleanField(_("new messages"), default=True)
    email_deals = models.BooleanField(_("deals to confirm"), default=True)
    email_moderation = models.BooleanField(_("moderation decisions"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification preferences")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.CheckConstraint(condition=models.Q(digest_hour__lte=23), name="prefs_hour_range"),
            models.CheckConstraint(condition=models.Q(digest_weekday__lte=6), name="prefs_weekday_range"),
        ]
        indexes = [models.Index(fields=["time_zone", "digest"], name="prefs_schedule_idx")]

    def __str__(self):
        return f"{self.resident_id}: {self.digest}"


# Which preference switches an immediate e-mail for a kind of notification.
EMAIL_PREFERENCE_OF_KIND = {
    Kind.MESSAGE: "email_messages",
    Kind.DEAL: "email_deals",
    Kind.MODERATION: "email_moderation",
}


class EmailDelivery(models.Model):
    """One e-mail owed to one resident: a digest for one period, or one notification.

    Unique on (resident, period), so a second beat or a redelivered task finds the row and does not
    owe the e-mail again. The status only moves by conditional UPDATEs that name the expected status
    (and the claim token of the worker holding it): QUEUED → SENDING → HANDED → SENT, or SENDING →
    EMPTY (nothing new), or → FAILED. docs/digest.md explains why HANDED exists.
    """

    class Kind(models.TextChoices):
        DIGEST = "digest", _("Digest")
        NOTIFICATION = "notification", _("Notification")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        HANDED = "handed", _("Handed to the mail server")
        SENT = "sent", _("Sent")
        EMPTY = "empty", _("Nothing new, not sent")
        FAILED = "failed", _("Failed")

    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_deliveries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # "D2026-11-27" (a daily digest, the resident's local date), "W2026-48" (a weekly one, the
    # local ISO week) or "N<notification id>".
    period = models.CharField(max_length=24)
    notification = models.ForeignKey(Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The fencing token of the worker holding the claim; every move out of SENDING names it.
    claim = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Not to be picked up (nor recovered) before this: a retry waiting out its backoff.
    not_before = models.DateTimeField()
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail delivery")
        verbose_name_plural = _("e-mail deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["resident", "period"], name="one_email_per_period")]
        indexes = [
            models.Index(fields=["status", "not_before"], name="delivery_pending_idx"),
            models.Index(fields=["resident", "kind", "-window_end"], name="delivery_last_digest_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.period} → {self.resident_id}: {self.status}"
