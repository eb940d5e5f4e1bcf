from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.nearby.models import Located, located_indexes

from .categories import Category


class Shop(Located):
    """A public place: its location is exact and shown to everyone, unlike a resident's."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_shops")
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="staffed_shops", blank=True)
    name = models.CharField(_("name"), max_length=80)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    contact_note = models.CharField(_("other contact"), max_length=200, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.TIME_ZONE)
    licence_number = models.CharField(_("business licence number"), max_length=64, blank=True)
    is_verified = models.BooleanField(_("verified"), default=False, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    suspended_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept by apps/trust/services/reputation.py (docs/trust.md): the score the feed reads without a
    # join to the history, and the numbers behind it (ratings, deals, repeat customers, claims,
    # moderation's penalty points), so pages explain the stored score without reading history again.
    reputation = models.FloatField(_("reputation"), default=50.0, db_default=50.0, editable=False)
    reputation_facts = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        indexes = located_indexes("shop")
        permissions = [("verify_shop", _("Can verify a shop's business licence"))]

    def __str__(self):
        return self.name


class ShopPhoto(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="shops/")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class OpeningHours(models.Model):
    """One opening span on a weekday (0 = Monday); a day may have several that do not overlap."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField()
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="hours_close_after_open"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="hours_weekday_range"),
        ]


class OpeningException(models.Model):
    """A date when the usual hours do not hold: closed, or open at other times."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    closed = models.BooleanField(default=True)
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "date"], name="one_exception_per_day"),
            # Closed all day, or open between two times in the right order.
            models.CheckConstraint(
                condition=models.Q(closed=True, opens__isnull=True, closes__isnull=True)
                | models.Q(closed=False, opens__isnull=False, closes__isnull=False, closes__gt=models.F("opens")),
                name="exception_closed_or_hours",
            ),
        ]


class ShopPledge(models.Model):
    """A promise from the fixed catalogue (apps/shops/pledges.py), with the shop's own terms.

    Kept, not deleted, when withdrawn: claims made under a pledge must still see its terms then.
    Never edited either: new terms withdraw this row and take a new one, so a row id names one
    promise exactly as it stood.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="pledges")
    kind = models.CharField(max_length=32)
    terms = models.JSONField(default=dict)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind"], condition=models.Q(is_active=True), name="one_active_pledge_per_kind"
            )
        ]
        # The digest asks every home area for the pledges taken since the last digest: without
        # this, each area read the whole table (3-6 ms of the database's CPU per area at 20,000 shops).
        indexes = [models.Index(fields=["created_at"], name="shops_pledge_created_idx")]


class ShopFollow(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="follows")
    resident = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "resident"], name="follow_once")]
