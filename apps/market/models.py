from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.nearby.models import Located, located_indexes
from apps.shops.categories import Category


class Stall(Located):
    """A time-limited market post by a shop or a resident.

    A shop's stall is at the shop's exact point; a resident's stall carries only the centre of the
    resident's home cell (`location_is_exact` False), never a point of its own.
    """

    class Kind(models.TextChoices):
        SALE = "sale", _("For sale")
        FREE = "free", _("Free")
        WANTED = "wanted", _("Wanted")
        SERVICE = "service", _("Service or help")
        EVENT = "event", _("Event")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESERVED = "reserved", _("Reserved")
        CLOSED = "closed", _("Closed")
        EXPIRED = "expired", _("Expired")
        HIDDEN = "hidden", _("Hidden by moderation")

    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stalls")
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.CASCADE, related_name="stalls")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.OTHER)
    title = models.CharField(_("title"), max_length=80)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    location_is_exact = models.BooleanField(default=False, editable=False)
    # When the stall was published or last renewed, as days since the Unix epoch: the feed ranks by
    # km + days of age, and a plain number keeps that formula the same SQL on SQLite and PostgreSQL.
    fresh_days = models.FloatField(default=0, editable=False)
    # Days added to the stall's age in the ranking because of its shop's standing: moderation's
    # sanctions set it (docs/moderation.md). Stored on the stall so the feed query needs no join.
    rank_penalty_days = models.FloatField(default=0, editable=False)
    # Its shop's reputation less the neutral score (apps/trust: 0 for a new shop and for residents'
    # stalls), kept on the stall as the penalty is, so that the feed ranks without joining the shops.
    shop_trust = models.FloatField(default=0, editable=False)
    created_at = models.DateTimeField(_("posted at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    MAX_PRICE = Decimal("1000000")

    class Meta:
        verbose_name = _("stall")
        verbose_name_plural = _("stalls")
        # The feed reads open, unexpired stalls of the cells around a resident: (cell, status,
        # expires_at) narrows to exactly those through the index, lat/lng make it covering, and the
        # ranking's columns let it rank every stall of a 5 km circle without reading the table
        # (PostgreSQL read a table block per stall: 13 of its 20 ms at 5 km, docs/benchmarks.md);
        # so do the columns of the feed's filters but the text (kind, category, price, shop or not):
        # a filtered 5 km feed read a table block for each of the circle's 6,000 stalls to test them.
        indexes = [
            *located_indexes(
                "stall",
                "status",
                "expires_at",
                carrying=("fresh_days", "rank_penalty_days", "shop_trust", "shop_id", "kind", "category", "price"),
            ),
            models.Index(fields=["seller", "-created_at"]),
        ]

    def __str__(self):
        return self.title

    @property
    def kind_label(self) -> str:
        """The kind in the reader's language: one translation, where get_kind_display() translates
        every choice to build its map (a tenth of the feed cards' rendering time)."""
        return self.Kind(self.kind).label

    def photos_in_order(self) -> list["StallPhoto"]:
        """The stall's photos, the first shown first: as the selectors that list stalls prefetched
        them (`shown_photos`: a plain list costs nothing a stall, where a prefetched `photos`
        manager builds a queryset for each), else read now."""
        shown = self.__dict__.get("shown_photos")
        return shown if shown is not None else list(self.photos.all())


class StallPhoto(models.Model):
    stall = models.ForeignKey(Stall, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="stalls/")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
