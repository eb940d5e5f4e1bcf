from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import DomainError
from apps.core.images import image_clean
from apps.core.ratelimit import rate_check
from apps.nearby import geo

from . import selectors
from .models import Resident


class InvalidRadius(DomainError):
    code = "invalid_radius"


class AccountTaken(DomainError):
    code = "taken"


def _radius_check(radius_m: int) -> None:
    if not settings.JIEFANG_RADIUS_MIN_M <= radius_m <= settings.JIEFANG_RADIUS_MAX_M:
        raise InvalidRadius(
            _("The radius must be between %(min)d m and %(max)d m.")
            % {"min": settings.JIEFANG_RADIUS_MIN_M, "max": settings.JIEFANG_RADIUS_MAX_M},
            field="radius_m",
        )


@transaction.atomic
def resident_sign_up(
    *, username: str, email: str, password: str, display_name: str, language: str = Resident.Language.ENGLISH
) -> Resident:
    email = Resident.objects.normalize_email(email).lower()
    if Resident.objects.filter(username__iexact=username).exists():
        raise AccountTaken(_("This username is taken."), field="username")
    if Resident.objects.filter(email__iexact=email).exists():
        raise AccountTaken(_("An account with this e-mail already exists."), field="email")
    resident = Resident(username=username, email=email, display_name=display_name.strip(), language=language)
    try:
        password_validation.validate_password(password, resident)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password") from None
    resident.set_password(password)
    resident.full_clean()
    rate_check("sign_up")
    resident.save()
    return resident


@transaction.atomic
def resident_profile_update(
    *,
    resident: Resident,
    display_name: str | None = None,
    bio: str | None = None,
    language: str | None = None,
    radius_m: int | None = None,
) -> Resident:
    if display_name is not None:
        resident.display_name = display_name.strip()
    if bio is not None:
        resident.bio = bio.strip()
    if language is not None:
        resident.language = language
    if radius_m is not None:
        _radius_check(radius_m)
        resident.radius_m = radius_m
    resident.full_clean(exclude=["password", "avatar"])
    resident.save(update_fields=["display_name", "bio", "language", "radius_m"])
    return resident


@transaction.atomic
def resident_home_set(*, resident: Resident, lat: float, lng: float) -> Resident:
    """Keeps only the home cell; the exact point given is dropped here and never stored."""
    geo.validate_point(lat, lng)
    cell = geo.cell_of(lat, lng, settings.JIEFANG_HOME_RESOLUTION)
    if cell == resident.home_cell:
        return resident  # the same area again reveals nothing new and uses up no move
    rate_check("home_set", user=resident)
    resident.home_cell = cell
    resident.place_at(geo.cell_center(cell))
    resident.save(update_fields=["home_cell", "lat", "lng", *(geo.cell_field(r) for r in geo.RESOLUTIONS)])
    return resident


def near_me_now_origin(*, viewer, lat: float, lng: float) -> geo.Point:
    """Where a one-off "near me now" feed is measured from: the position snapped to a fine cell
    centre, never stored. Every position asked for counts against `near_me_now`, per viewer and per
    address: moving one's origin around a neighbour and reading the distances is how one would try
    to locate them, so it is limited like moving the home is (docs/security.md). Counting every
    request, pages of the same position included, keeps the positions themselves out of the cache."""
    origin = selectors.snap_near_me_now(lat=lat, lng=lng)
    rate_check("near_me_now", user=viewer)
    return origin


@transaction.atomic
def resident_home_clear(*, resident: Resident) -> Resident:
    resident.home_cell = None
    resident.clear_place()
    resident.save(update_fields=["home_cell", "lat", "lng", *(geo.cell_field(r) for r in geo.RESOLUTIONS)])
    return resident


@transaction.atomic
def resident_avatar_set(*, resident: Resident, upload) -> Resident:
    clean = image_clean(upload, field="avatar")
    old = resident.avatar.name if resident.avatar else None
    resident.avatar.save(clean.name, clean, save=False)
    resident.save(update_fields=["avatar"])
    if old:
        storage = resident.avatar.storage
        transaction.on_commit(lambda: storage.delete(old))
    return resident


# --- Suspension and ban: called only by the moderation app's services, which check who may ---------


@transaction.atomic
def resident_suspend(*, resident: Resident, until) -> Resident:
    """The resident keeps reading but posts nothing until `until`."""
    resident.suspended_until = until
    resident.save(update_fields=["suspended_until"])
    return resident


@transaction.atomic
def resident_suspension_lift(*, resident: Resident) -> Resident:
    if resident.suspended_until is not None:
        resident.suspended_until = None
        resident.save(update_fields=["suspended_until"])
    return resident


@transaction.atomic
def resident_ban(*, resident: Resident) -> Resident:
    """Django's own switch: a banned resident cannot log in, and their sessions stop working."""
    resident.is_active = False
    resident.save(update_fields=["is_active"])
    return resident


@transaction.atomic
def resident_unban(*, resident: Resident) -> Resident:
    resident.is_active = True
    resident.save(update_fields=["is_active"])
    return resident


# --- Personal data -------------------------------------------------------------------------------------


def resident_export(*, resident: Resident) -> dict:
    """Everything the site holds about the resident, each app's part under its name."""
    from . import personal_data

    return {
        "exported_at": timezone.now().isoformat(),
        "resident_id": resident.pk,
        **{label: part.export_for(resident) for label, part in personal_data.parts().items()},
    }


@transaction.atomic
def resident_erase(*, resident: Resident, password: str) -> Resident:
    """Deletes the account: every app erases its part (apps/*/personal_data.py), then the profile
    is blanked and closed. The row stays, empty, so that deals and moderation records keep pointing
    at "an erased account" rather than vanishing with it (docs/personal-data.md)."""
    from . import personal_data

    if not resident.check_password(password):
        raise DomainError(_("That is not your password."), field="password")
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    for part in personal_data.parts().values():
        part.erase_for(resident)
    resident.username = f"erased-{resident.pk}"
    resident.email = f"erased-{resident.pk}@invalid"
    resident.first_name = resident.last_name = ""
    resident.display_name = "Former neighbour"  # stored, not shown in one reader's language
    resident.bio = ""
    resident.avatar = ""
    resident.home_cell = None
    resident.clear_place()
    resident.share_acquaintances = False
    resident.is_active = False
    resident.is_staff = resident.is_superuser = False
    resident.groups.clear()
    resident.user_permissions.clear()
    resident.set_unusable_password()  # also ends every session: Django checks the password's hash
    resident.save()
    return resident
