"""Trust: verified residency, vouches and recognitions, deals, reviews and pledge claims.

Every row here is written by apps/trust/services; the rules are in docs/trust.md.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Resident

# --- Verified residency ---------------------------------------------------------------------------


class LetterBatch(models.Model):
    """Letters printed together by a moderator (one PDF, one page per letter)."""

    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    printed_at = models.DateTimeField(auto_now_add=True)
    size = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")
        ordering = ["-printed_at"]

    def __str__(self):
        return f"#{self.pk} ({self.size})"


class ResidencyLetter(models.Model):
    """A letter with a code, posted to the address a resident gave.

    The address is kept only while the letter is on its way: it is erased once the letter is used,
    locked, cancelled or expired. The code exists in clear only in the printed PDF; here it is an
    HMAC keyed with the site's secret and the letter's own salt.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        PRINTED = "printed", _("Printed and posted")
        USED = "used", _("Used")
        LOCKED = "locked", _("Locked: too many wrong codes")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN = (Status.REQUESTED, Status.PRINTED)

    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="residency_letters")
    postal_address = models.TextField(_("postal address"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    batch = models.ForeignKey(LetterBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="letters")
    code_salt = models.CharField(max_length=32, blank=True, editable=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    printed_at = models.DateTimeField(_("printed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # When too many wrong codes locked it: a new letter can be asked for LETTER_LOCK_COOLOFF later.
    locked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("residency letter")
        verbose_name_plural = _("residency letters")
        ordering = ["created_at", "pk"]
        permissions = [("print_letters", _("Can print residency letters"))]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(status__in=["requested", "printed"]),
                name="trust_one_open_letter",
            )
        ]

    def __str__(self):
        return f"{self.resident} ({self.get_status_display()})"


class ResidencyEvent(models.Model):
    """Append-only history of a resident's verification: how it was gained or lost, by whom, why."""

    class Kind(models.TextChoices):
        LETTER = "letter", _("Verified by letter code")
        VOUCHES = "vouches", _("Verified by neighbours' vouches")
        GRANTED = "granted", _("Verified by a moderator")
        REVOKED = "revoked", _("Revoked by a moderator")
        VOUCHES_LOST = "vouches_lost", _("Lost: vouches no longer enough")

    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="residency_events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("residency event")
        verbose_name_plural = _("residency events")
        ordering = ["-created_at", "-pk"]
        permissions = [("decide_residency", _("Can verify or revoke a resident's residency"))]

    def __str__(self):
        return f"{self.resident}: {self.get_kind_display()}"


class ResidentResidency(Resident):
    """The residents, as the residency decisions page of the admin lists them."""

    class Meta:
        proxy = True
        verbose_name = _("residency decision")
        verbose_name_plural = _("residency decisions")


# --- Vouches and recognitions ---------------------------------------------------------------------


class Vouch(models.Model):
    """A verified neighbour says: I know this person lives here, and I trust them.

    Withdrawn vouches stay (with `withdrawn_at`), so the weekly limit cannot be reset by
    withdrawing and vouching again, and the history remains for moderators.
    """

    voucher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vouches_given")
    vouchee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vouches_received")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("vouch")
        verbose_name_plural = _("vouches")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["voucher", "vouchee"], condition=Q(withdrawn_at__isnull=True), name="trust_vouch_once"
            ),
            models.CheckConstraint(condition=~Q(voucher=F("vouchee")), name="trust_vouch_not_self"),
        ]
        indexes = [models.Index(fields=["vouchee", "withdrawn_at"], name="trust_vouch_received")]

    def __str__(self):
        return f"{self.voucher} → {self.vouchee}"


class Recognition(models.Model):
    """ "I recognise this neighbour": one side of a nodding acquaintance (both sides make it)."""

    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recognitions")
    recognised = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recognised_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("recognition")
        verbose_name_plural = _("recognitions")
        constraints = [
            models.UniqueConstraint(fields=["resident", "recognised"], name="trust_recognise_once"),
            models.CheckConstraint(condition=~Q(resident=F("recognised")), name="trust_recognise_not_self"),
        ]


# --- Deals, reviews, pledge claims ----------------------------------------------------------------


class Deal(models.Model):
    """A sale on a stall: the seller (or the shop's staff) marks it to a buyer, the buyer confirms.

    Only a confirmed deal allows reviews and pledge claims. The stall's title and the price are
    copied, so the deal still reads right after the stall changes or goes.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Waiting for the buyer")
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined by the buyer")
        CANCELLED = "cancelled", _("Cancelled by the seller")

    stall = models.ForeignKey("market.Stall", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    title = models.CharField(_("title"), max_length=80)
    # Accounts are banned (deactivated), not deleted; when a row is deleted all the same (an erasure
    # request, a test), its deals go with it and the daily recompute settles the reputations.
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deals_sold")
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.CASCADE, related_name="deals")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deals_bought")
    # The conversation the sale was marked from: where the two talked before dealing.
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, null=True, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    created_at = models.DateTimeField(_("sold at"), auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(seller=F("buyer")), name="trust_deal_not_self"),
            models.UniqueConstraint(
                fields=["stall", "buyer"], condition=Q(status="proposed"), name="trust_one_pending_deal"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "answered_at"], name="trust_deal_shop"),
            models.Index(fields=["buyer", "status"], name="trust_deal_buyer"),
            models.Index(fields=["seller", "status"], name="trust_deal_seller"),
        ]

    def __str__(self):
        return f"{self.title}: {self.seller} → {self.buyer}"

    @property
    def is_confirmed(self) -> bool:
        return self.status == self.Status.CONFIRMED

    @property
    def confirmed_at(self):
        return self.answered_at if self.is_confirmed else None


class Review(models.Model):
    """1–5 stars and a text on a confirmed deal, one per side.

    The buyer's review of the seller (or their shop) is public; the seller's review of the buyer
    is private: only the buyer, its author and moderators read it.
    """

    class Direction(models.TextChoices):
        OF_SELLER = "of_seller", _("Buyer about the seller")
        OF_BUYER = "of_buyer", _("Seller about the buyer")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="reviews")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_written")
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_received")
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.CASCADE, related_name="reviews")
    stars = models.PositiveSmallIntegerField(_("stars"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(_("review"), max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reply = models.TextField(_("the shop's reply"), max_length=2000, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set by moderation (reports upheld, or enough of them): not shown, and not counted.
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "direction"], name="trust_review_once_per_side"),
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="trust_review_stars"),
            models.CheckConstraint(condition=~Q(author=F("subject")), name="trust_review_not_self"),
        ]
        indexes = [models.Index(fields=["shop", "direction"], name="trust_review_shop")]

    def __str__(self):
        return f"{self.stars}★ {self.author} on {self.deal}"

    @property
    def is_public(self) -> bool:
        return self.direction == self.Direction.OF_SELLER


class PledgeClaim(models.Model):
    """A buyer invokes a pledge the shop had in force when the deal was made.

    open → accepted (honoured) | rejected (with a reason) → disputed by the buyer → escalated;
    open for more than 3 days → escalated. Moderators then uphold it (the pledge was broken) or
    dismiss it (the shop was right).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for the shop")
        ACCEPTED = "accepted", _("Honoured by the shop")
        REJECTED = "rejected", _("Rejected by the shop")
        ESCALATED = "escalated", _("With the moderators")
        UPHELD = "upheld", _("Upheld: the pledge was broken")
        DISMISSED = "dismissed", _("Dismissed by the moderators")

    class Escalation(models.TextChoices):
        UNANSWERED = "unanswered", _("The shop did not answer within 3 days")
        DISPUTED = "disputed", _("The buyer disputed the shop's rejection")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="claims")
    # Pledge rows are never deleted but with their shop (withdrawn ones are kept).
    pledge = models.ForeignKey("shops.ShopPledge", on_delete=models.CASCADE, related_name="claims")
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="pledge_claims")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pledge_claims")
    text = models.TextField(_("what happened"), max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer_reason = models.TextField(_("the shop's answer"), max_length=2000, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_text = models.TextField(_("why the buyer disputes"), max_length=2000, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True, db_index=True)
    escalation = models.CharField(max_length=10, choices=Escalation.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_reason = models.TextField(_("the moderator's reason"), blank=True)

    class Meta:
        verbose_name = _("pledge claim")
        verbose_name_plural = _("pledge claims")
        ordering = ["-created_at", "-pk"]
        permissions = [("resolve_claim", _("Can decide escalated pledge claims"))]
        constraints = [models.UniqueConstraint(fields=["deal", "pledge"], name="trust_claim_once_per_pledge")]
        indexes = [models.Index(fields=["status", "created_at"], name="trust_claim_status")]

    def __str__(self):
        return f"{self.pledge.kind} on {self.deal}"
