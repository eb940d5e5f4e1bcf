"""Reports, the cases they gather into, moderators' decisions, appeals and the audit log.

What can be reported is generic: a ContentType and an object id, with one adapter per kind in
`targets.py` (a stall, a shop, a resident; chat messages and reviews plug in the same way). Explicit
nullable foreign keys would need a migration here for every app that becomes reportable and a
check constraint that only one is set; with a generic key each new kind is one adapter and no
schema change. What the generic key loses, referential integrity, is made up for by `snapshot`:
the content as it stood when first reported is kept with the case, so evidence survives the
object's deletion.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Reason(models.TextChoices):
    FALSE_ADVERTISING = "false_advertising", _("False advertising")
    COUNTERFEIT = "counterfeit", _("Counterfeit goods")
    SCAM = "scam", _("Scam or fraud")
    PROHIBITED = "prohibited", _("Prohibited item")
    HARASSMENT = "harassment", _("Harassment")
    SPAM = "spam", _("Spam")
    OTHER = "other", _("Other")


class ModeratorArea(models.Model):
    """An area (an H3 cell at settings.JIEFANG_MODERATION_AREA_RESOLUTION) a moderator looks after."""

    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderator_areas")
    cell = models.BigIntegerField(_("area"))
    assigned_at = models.DateTimeField(auto_now_add=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("moderator's area")
        verbose_name_plural = _("moderators' areas")
        constraints = [models.UniqueConstraint(fields=["moderator", "cell"], name="moderation_area_once")]

    def __str__(self):
        return f"{self.moderator} · {self.cell:x}" if self.cell is not None else str(self.moderator)


class Case(models.Model):
    """Every open report on one object, gathered: the moderators' queue has one row per object."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Action taken")
        DISMISSED = "dismissed", _("No action")

    kind = models.CharField(_("kind"), max_length=16)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    area = models.BigIntegerField(_("area"), null=True, blank=True, db_index=True)
    # Who answers for the object (the seller, the shop's owner, the resident): told of decisions, may appeal.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(_("reported content"), max_length=200)
    snapshot = models.JSONField(default=dict)
    status = models.CharField(_("state"), max_length=10, choices=Status.choices, default=Status.OPEN)
    weight = models.FloatField(_("weight"), default=0)
    urgency = models.FloatField(_("urgency"), default=0)
    reports_count = models.PositiveIntegerField(_("reports"), default=0)
    top_reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    opened_at = models.DateTimeField(_("first reported"), default=timezone.now)
    last_report_at = models.DateTimeField(_("last reported"), default=timezone.now)
    auto_hidden_at = models.DateTimeField(_("hidden pending review"), null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("report case")
        verbose_name_plural = _("report queue")
        permissions = [("moderate", _("Can act on reports, appeals and sanctions in their areas"))]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id"], condition=Q(status="open"), name="moderation_one_open_case"
            )
        ]
        indexes = [
            models.Index(fields=["status", "area", "-urgency"], name="moderation_case_queue"),
            models.Index(fields=["content_type", "object_id"], name="moderation_case_object"),
        ]

    def __str__(self):
        return f"{self.kind} · {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Report(models.Model):
    """One resident's report of one object: at most one per reporter per object, ever."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_filed")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # The reporter's standing when they reported (rules.reporter_weight), frozen so the case's
    # weight does not move under a moderator's eyes.
    weight = models.FloatField(default=0)
    established = models.BooleanField(default=False)
    created_at = models.DateTimeField(_("reported at"), default=timezone.now)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reporter", "content_type", "object_id"], name="moderation_report_once")
        ]
        indexes = [models.Index(fields=["reporter", "-created_at"], name="moderation_report_by_reporter")]

    def __str__(self):
        return f"{self.get_reason_display()} · {self.case}"


class Decision(models.Model):
    """What was decided about a case or a person or shop, by whom (or automatically), and why.

    Appealable once by the resident it affected, within rules.APPEAL_WINDOW; a granted appeal
    revokes it and undoes its effects, using `state`: what it changed and how to put it back.
    """

    class Action(models.TextChoices):
        AUTO_HIDE = "auto_hide", _("Hidden pending review")
        DISMISS = "dismiss", _("Dismissed")
        HIDE = "hide", _("Hidden")
        RESTORE = "restore", _("Restored")
        WARN = "warn", _("Warning")
        POINTS = "points", _("Penalty points")
        SUSPEND = "suspend", _("Suspension")
        BAN = "ban", _("Ban")

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    automatic = models.BooleanField(default=False)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    area = models.BigIntegerField(null=True, blank=True, db_index=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_decisions",
    )
    shop = models.ForeignKey(
        "shops.Shop", null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_decisions"
    )
    points = models.PositiveSmallIntegerField(default=0)
    tier = models.PositiveSmallIntegerField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("reason"), max_length=2000)
    state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("decided at"), default=timezone.now, db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A hold or suspension whose time ran out (or that a later decision replaced): its hidden
    # stalls are back. Set once, by a conditional update.
    ended_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "action", "-created_at"], name="moderation_decision_shop")]

    def __str__(self):
        return f"{self.get_action_display()} · {self.created_at:%Y-%m-%d}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Appeal(models.Model):
    """An affected resident's one appeal against one decision, decided by another moderator."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        GRANTED = "granted", _("Granted: decision revoked")
        REFUSED = "refused", _("Refused: decision stands")

    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="appeal")
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appeals")
    text = models.TextField(_("appeal"), max_length=2000)
    area = models.BigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(_("state"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("appealed at"), default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.TextField(_("answer"), max_length=2000, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.get_status_display()} · {self.decision}"


class AuditLogImmutable(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogImmutable("The moderation audit log is append-only.")

    def delete(self):
        raise AuditLogImmutable("The moderation audit log is append-only.")


class AuditEntry(models.Model):
    """Append-only: written once by `audit.audit_record`, never changed or removed. Besides the
    admin refusing it, `save`, `delete` and the queryset refuse, and a database trigger
    (migration 0002) refuses UPDATE on every backend, and DELETE on PostgreSQL (SQLite's test
    flush deletes rows; PostgreSQL's truncates, which the trigger lets through)."""

    # No database constraint and nothing done on delete: the entry is never rewritten, not even
    # to forget an account removed later; `actor_name` keeps who it was.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(_("who"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=200)
    area = models.BigIntegerField(null=True, blank=True, db_index=True)
    reason = models.TextField(_("reason"), blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="moderation_audit_object")]

    def __str__(self):
        return f"{self.action} · {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogImmutable("The moderation audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable("The moderation audit log is append-only.")
