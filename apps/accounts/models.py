from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.nearby import geo
from apps.nearby.models import Located, located_indexes


class Resident(AbstractUser, Located):
    """Everyone who signs in: residents, shopkeepers and moderators alike.

    Privacy by construction: the home is kept only as `home_cell`, a cell of a fixed H3 grid
    (resolution 9, about 0.1 km²). The located point inherited from `Located` is that cell's
    centre, so nothing finer than the cell exists anywhere in the database.
    """

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        CHINESE = "zh-hans", "简体中文"

    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=40)
    bio = models.CharField(_("short bio"), max_length=280, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH)
    home_cell = models.BigIntegerField(_("home area"), null=True, blank=True, editable=False)
    radius_m = models.PositiveIntegerField(
        _("nearby radius (m)"),
        default=settings.JIEFANG_RADIUS_DEFAULT_M,
        validators=[
            MinValueValidator(settings.JIEFANG_RADIUS_MIN_M),
            MaxValueValidator(settings.JIEFANG_RADIUS_MAX_M),
        ],
    )

    # "New since your last visit": feed_visit_at is the latest look at the feed; when a look comes
    # after a long gap, the previous visit's last look becomes feed_seen_at, the line for "new".
    feed_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    feed_visit_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set only by the trust app's residency services (letter code, vouches, a moderator's decision).
    residency_verified_at = models.DateTimeField(_("residency verified"), null=True, blank=True, editable=False)
    # Set only by the moderation app's services: until then the resident reads but does not post
    # (stalls, messages, reviews, reports). A ban is `is_active=False`, Django's own switch.
    suspended_until = models.DateTimeField(_("suspended until"), null=True, blank=True, editable=False)
    # Whether neighbours may see this resident's name under "neighbours you both know" (otherwise
    # only counted). Set through apps.trust.services.acquaintance_privacy_set.
    share_acquaintances = models.BooleanField(
        _("show my name among neighbours we both know"), default=False, db_default=False
    )

    REQUIRED_FIELDS = ["email", "display_name"]

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        indexes = [
            *located_indexes("resident"),
            # The digest counts neighbours verified since the last one, for every home area: the few
            # verified in a window, found by date, instead of every resident of the area read
            # (about 2 ms of the database's CPU per area at 100,000 residents).
            models.Index(
                fields=["residency_verified_at"],
                name="resident_verified_at_idx",
                condition=models.Q(residency_verified_at__isnull=False),
            ),
        ]

    def __str__(self):
        return self.display_name or self.username

    @property
    def is_verified_resident(self) -> bool:
        return self.residency_verified_at is not None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > timezone.now()

    @property
    def has_home(self) -> bool:
        return self.home_cell is not None

    @property
    def home_area(self) -> list[tuple[float, float]] | None:
        return geo.cell_boundary(self.home_cell) if self.home_cell else None
