"""Every write to a shop and what hangs off it: registration, details, photos, hours, pledges,
followers, staff and verification. Views, the API, the admin and the demo all come through here."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, TextField
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from apps.accounts.models import Resident
from apps.core.errors import DomainError, NotAllowed
from apps.core.images import image_clean
from apps.nearby import geo

from . import pledges
from .models import OpeningException, OpeningHours, Shop, ShopFollow, ShopPhoto, ShopPledge

MAX_PHOTOS = 8
MAX_SHOPS_PER_OWNER = 10
MAX_SPANS_PER_DAY = 4
# Exceptions are planned for the coming year at most: enough for holidays, short enough to stay true.
EXCEPTION_HORIZON = dt.timedelta(days=366)


class ShopInvalid(DomainError):
    code = "shop_invalid"


class ShopLocationInvalid(DomainError):
    code = "invalid_location"


class TooManyShops(DomainError):
    code = "too_many_shops"


class TooManyPhotos(DomainError):
    code = "too_many_photos"


class HoursInvalid(DomainError):
    code = "hours_invalid"

    def __init__(self, message: str, *, field: str = "hours", weekday: int | None = None):
        super().__init__(message, field=field)
        self.weekday = weekday


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class ShopBusy(DomainError):
    status_code = 409
    code = "shop_busy"


class NotShopOwner(NotAllowed):
    pass


class Span(NamedTuple):
    weekday: int
    opens: dt.time
    closes: dt.time


def _check_owner(shop: Shop, by: Resident | None) -> None:
    if by is None or not by.is_authenticated or shop.owner_id != by.pk:
        raise NotShopOwner(_("Only the shop's owner may change it."))


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_check(name: str) -> str:
    """A time zone of the IANA database by its name ("Asia/Shanghai"); anything else is refused."""
    if not isinstance(name, str) or name not in _time_zones():
        raise ShopInvalid(_("Choose a time zone from the list, for example Asia/Shanghai."), field="time_zone")
    return name


def _point(lat, lng) -> geo.Point:
    try:
        return geo.Point(lat, lng)
    except geo.InvalidLocation:
        raise ShopLocationInvalid(
            _("Choose the shop's place on the map (latitude -90 to 90, longitude -180 to 180)."), field="location"
        ) from None


def _full_clean(obj, **kwargs) -> None:
    """The model's own checks (lengths, choices) as a domain error naming the first field at fault."""
    try:
        # Django checks max_length of a TextField only in forms; the model says what it allows.
        for f in obj._meta.concrete_fields:
            value = getattr(obj, f.attname)
            if isinstance(f, TextField) and f.max_length and isinstance(value, str) and len(value) > f.max_length:
                raise ValidationError({f.name: [_("At most %(n)d characters, please.") % {"n": f.max_length}]})
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        errors = getattr(exc, "error_dict", None) or {None: exc.error_list}
        field, problems = next(iter(errors.items()))
        message = " ".join(m for e in problems for m in e.messages)
        if field not in (None, "__all__"):
            label = obj._meta.get_field(field).verbose_name
            message = f"{str(label).capitalize()}: {message}"
        raise ShopInvalid(message, field=None if field == "__all__" else field) from None


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


@transaction.atomic
def shop_register(
    *,
    owner: Resident,
    name: str,
    category: str,
    lat: float,
    lng: float,
    description: str = "",
    address: str = "",
    phone: str = "",
    contact_note: str = "",
    time_zone: str | None = None,
    licence_number: str = "",
    photos: Sequence = (),
) -> Shop:
    """A new, unverified shop at the exact public point chosen on the map, with its first photos."""
    # Lock the owner's row so two registrations at once cannot both pass the count below.
    Resident.objects.select_for_update().filter(pk=owner.pk).first()
    if Shop.objects.filter(owner=owner).count() >= MAX_SHOPS_PER_OWNER:
        raise TooManyShops(_("One resident may register at most %(n)d shops.") % {"n": MAX_SHOPS_PER_OWNER})
    shop = Shop(
        owner=owner,
        name=_strip(name) or "",
        category=category,
        description=_strip(description) or "",
        address=_strip(address) or "",
        phone=_strip(phone) or "",
        contact_note=_strip(contact_note) or "",
        time_zone=time_zone_check(time_zone) if time_zone is not None else Shop._meta.get_field("time_zone").default,
        licence_number=_strip(licence_number) or "",
    )
    shop.place_at(_point(lat, lng))
    _full_clean(shop, exclude=["owner"])
    shop.save()
    if len(photos) > MAX_PHOTOS:
        raise TooManyPhotos(_("A shop may show at most %(n)d photos.") % {"n": MAX_PHOTOS}, field="photos")
    for upload in photos:
        shop_photo_add(shop=shop, by=owner, upload=upload)
    return shop


@transaction.atomic
def shop_update(
    *,
    shop: Shop,
    by: Resident,
    name: str | None = None,
    category: str | None = None,
    description: str | None = None,
    address: str | None = None,
    phone: str | None = None,
    contact_note: str | None = None,
    time_zone: str | None = None,
    licence_number: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
) -> Shop:
    """Changes what is given (None leaves a field as it is). A new licence number needs checking
    again, so it takes the verified badge away until a moderator has looked."""
    _check_owner(shop, by)
    changes = {
        "name": _strip(name),
        "category": category,
        "description": _strip(description),
        "address": _strip(address),
        "phone": _strip(phone),
        "contact_note": _strip(contact_note),
        "time_zone": time_zone_check(time_zone) if time_zone is not None else None,
        "licence_number": _strip(licence_number),
    }
    fields = []
    for field, value in changes.items():
        if value is not None and value != getattr(shop, field):
            setattr(shop, field, value)
            fields.append(field)
    if (lat is None) != (lng is None):
        raise ShopLocationInvalid(_("Give both the latitude and the longitude."), field="location")
    if lat is not None:
        shop.place_at(_point(lat, lng))
        fields += ["lat", "lng", *(geo.cell_field(r) for r in geo.RESOLUTIONS)]
    if "licence_number" in fields and shop.is_verified:
        shop.is_verified = False
        shop.verified_at = None
        shop.verified_by = None
        fields += ["is_verified", "verified_at", "verified_by"]
    _full_clean(shop, exclude=["owner"])
    if fields:
        shop.save(update_fields=[*fields, "updated_at"])
    return shop


@transaction.atomic
def shop_delete(*, shop: Shop, by: Resident) -> None:
    """Removes a shop with its photos, hours and pledges. Refused while it still has stalls that
    buyers may be acting on: those are closed first, so nobody loses a deal halfway."""
    from apps.market.models import Stall

    _check_owner(shop, by)
    live = shop.stalls.filter(
        status__in=[Stall.Status.OPEN, Stall.Status.RESERVED], expires_at__gt=timezone.now()
    ).exists()
    if live:
        raise ShopBusy(_("Close the shop's open and reserved stalls before removing the shop."))
    names = list(shop.photos.values_list("image", flat=True))
    storage = ShopPhoto._meta.get_field("image").storage
    shop.delete()
    transaction.on_commit(lambda: [storage.delete(n) for n in names if n])


# --- Photos -----------------------------------------------------------------------------------


@transaction.atomic
def shop_photo_add(*, shop: Shop, by: Resident, upload) -> ShopPhoto:
    _check_owner(shop, by)
    Shop.objects.select_for_update().filter(pk=shop.pk).first()  # serialises the count below
    existing = shop.photos.aggregate(last=Max("position"), count=Count("id"))
    if existing["count"] >= MAX_PHOTOS:
        raise TooManyPhotos(_("A shop may show at most %(n)d photos.") % {"n": MAX_PHOTOS}, field="image")
    clean = image_clean(upload, field="image")
    last = existing["last"]
    photo = ShopPhoto(shop=shop, position=0 if last is None else last + 1)
    photo.image.save(clean.name, clean, save=False)
    photo.save()
    return photo


@transaction.atomic
def shop_photo_remove(*, photo: ShopPhoto, by: Resident) -> None:
    _check_owner(photo.shop, by)
    name = photo.image.name
    storage = photo.image.storage
    photo.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


# --- Opening hours ----------------------------------------------------------------------------


def _minute(value: dt.time) -> dt.time:
    return value.replace(second=0, microsecond=0, tzinfo=None)


def _span_text(opens: dt.time, closes: dt.time) -> str:
    return f"{opens:%H:%M}–{closes:%H:%M}"


def hours_check(spans: Iterable[Span | tuple]) -> list[Span]:
    """Spans of a week, checked: each closes after it opens, and spans of one day do not overlap.

    A span cannot cross midnight (a day's hours end by 23:59); a shop open late adds a span from
    00:00 on the next day. Errors name the weekday, so a form can put them on the right line.
    """
    by_day: dict[int, list[Span]] = {d: [] for d in range(7)}
    for raw in spans:
        try:
            span = Span(*raw)
        except TypeError:
            raise HoursInvalid(_("Each opening span needs a weekday, an opening time and a closing time.")) from None
        if isinstance(span.weekday, bool) or not isinstance(span.weekday, int) or not 0 <= span.weekday <= 6:
            raise HoursInvalid(_("The weekday must be 0 (Monday) to 6 (Sunday)."))
        if not isinstance(span.opens, dt.time) or not isinstance(span.closes, dt.time):
            raise HoursInvalid(_("Opening and closing times must be times of day, like 08:30."), weekday=span.weekday)
        span = Span(span.weekday, _minute(span.opens), _minute(span.closes))
        if span.closes <= span.opens:
            raise HoursInvalid(
                _(
                    "%(day)s: %(span)s closes before it opens. Hours cannot run past midnight: end at 23:59 "
                    "and start the next day at 00:00."
                )
                % {"day": WEEKDAYS[span.weekday], "span": _span_text(span.opens, span.closes)},
                weekday=span.weekday,
            )
        by_day[span.weekday].append(span)
    result = []
    for day, day_spans in by_day.items():
        day_spans.sort(key=lambda s: s.opens)
        if len(day_spans) > MAX_SPANS_PER_DAY:
            raise HoursInvalid(
                _("%(day)s: at most %(n)d opening spans a day.") % {"day": WEEKDAYS[day], "n": MAX_SPANS_PER_DAY},
                weekday=day,
            )
        for before, after in pairwise(day_spans):
            if after.opens < before.closes:
                raise HoursInvalid(
                    _("%(day)s: %(a)s and %(b)s overlap.")
                    % {
                        "day": WEEKDAYS[day],
                        "a": _span_text(before.opens, before.closes),
                        "b": _span_text(after.opens, after.closes),
                    },
                    weekday=day,
                )
        result += day_spans
    return result


@transaction.atomic
def shop_hours_set(*, shop: Shop, by: Resident, spans: Iterable[Span | tuple]) -> list[OpeningHours]:
    """Replaces the whole week at once: all the new spans are checked before any old one goes."""
    _check_owner(shop, by)
    checked = hours_check(spans)
    shop.hours.all().delete()
    rows = OpeningHours.objects.bulk_create(
        OpeningHours(shop=shop, weekday=s.weekday, opens=s.opens, closes=s.closes) for s in checked
    )
    return rows


def shop_today(shop: Shop, at: dt.datetime | None = None) -> dt.date:
    return (at or timezone.now()).astimezone(zoneinfo.ZoneInfo(shop.time_zone)).date()


@transaction.atomic
def shop_exception_set(
    *,
    shop: Shop,
    by: Resident,
    date: dt.date,
    closed: bool,
    opens: dt.time | None = None,
    closes: dt.time | None = None,
    note: str = "",
) -> OpeningException:
    """Sets the hours of one date (closed all day, or open at other times), replacing any set before."""
    _check_owner(shop, by)
    today = shop_today(shop)
    if not isinstance(date, dt.date) or date < today:
        raise HoursInvalid(_("Choose today or a later date."), field="date")
    if date > today + EXCEPTION_HORIZON:
        raise HoursInvalid(_("Exceptions may be set up to a year ahead."), field="date")
    if closed:
        opens = closes = None
    else:
        if opens is None or closes is None:
            raise HoursInvalid(_("Give the opening and closing times, or mark the day closed."), field="opens")
        opens, closes = _minute(opens), _minute(closes)
        if closes <= opens:
            raise HoursInvalid(
                _("%(span)s closes before it opens.") % {"span": _span_text(opens, closes)}, field="closes"
            )
    Shop.objects.select_for_update().filter(pk=shop.pk).first()  # one writer per shop: no duplicate date
    exception = shop.exceptions.filter(date=date).first() or OpeningException(shop=shop, date=date)
    exception.closed, exception.opens, exception.closes = closed, opens, closes
    exception.note = (note or "").strip()
    _full_clean(exception, validate_constraints=False)  # the database checks its own constraints
    exception.save()
    return exception


@transaction.atomic
def shop_exception_remove(*, shop: Shop, by: Resident, date: dt.date) -> None:
    _check_owner(shop, by)
    deleted, _rows = shop.exceptions.filter(date=date).delete()
    if not deleted:
        raise NotFound(_("There is no exception on this date."), field="date")


# --- Pledges ----------------------------------------------------------------------------------


@transaction.atomic
def pledge_take(*, shop: Shop, by: Resident, kind: str, terms: dict | None = None) -> ShopPledge:
    """Takes a pledge from the catalogue. Taking it again with other terms withdraws the old row and
    starts a new one (rows are never edited); with the same terms it changes nothing."""
    _check_owner(shop, by)
    clean = pledges.kind_get(kind).clean_terms(terms)
    Shop.objects.select_for_update().filter(pk=shop.pk).first()
    current = shop.pledges.filter(kind=kind, is_active=True).first()
    if current is not None:
        if current.terms == clean:
            return current
        _withdraw(current)
    return ShopPledge.objects.create(shop=shop, kind=kind, terms=clean)


def _withdraw(pledge: ShopPledge) -> None:
    pledge.is_active = False
    pledge.withdrawn_at = timezone.now()
    pledge.save(update_fields=["is_active", "withdrawn_at"])


@transaction.atomic
def pledge_withdraw(*, pledge: ShopPledge, by: Resident) -> ShopPledge:
    """Ends a pledge from now on; the row stays, for claims made while it held."""
    _check_owner(pledge.shop, by)
    if pledge.is_active:
        _withdraw(pledge)
    return pledge


# --- Followers and staff ----------------------------------------------------------------------


@transaction.atomic
def shop_follow(*, shop: Shop, resident: Resident) -> ShopFollow:
    if shop.owner_id == resident.pk:
        raise DomainError(_("You own this shop; its news reaches you anyway."), field="shop")
    follow, _created = ShopFollow.objects.get_or_create(shop=shop, resident=resident)
    return follow


@transaction.atomic
def shop_unfollow(*, shop: Shop, resident: Resident) -> None:
    ShopFollow.objects.filter(shop=shop, resident=resident).delete()


@transaction.atomic
def shop_staff_add(*, shop: Shop, by: Resident, resident: Resident) -> Shop:
    """Staff publish stalls for the shop; only the owner changes the shop itself."""
    _check_owner(shop, by)
    if resident.pk == shop.owner_id:
        raise DomainError(_("The owner is already in charge of the shop."), field="username")
    if not resident.is_active:
        raise DomainError(_("This account is not active."), field="username")
    shop.staff.add(resident)
    return shop


@transaction.atomic
def shop_staff_remove(*, shop: Shop, by: Resident, resident: Resident) -> Shop:
    _check_owner(shop, by)
    shop.staff.remove(resident)
    return shop


# --- Verification (moderators) ----------------------------------------------------------------


def _check_moderator(moderator: Resident, shop: Shop) -> None:
    from apps.moderation import areas

    if not (moderator.is_active and moderator.has_perm("shops.verify_shop")):
        raise NotAllowed(_("Only moderators may verify shops."))
    areas.check_located(moderator, shop, _("This shop is outside the areas you moderate."))


def _audit_verification(shop: Shop, moderator: Resident, before: bool) -> None:
    from apps.moderation.areas import area_of_cell
    from apps.moderation.audit import audit_record

    if before != shop.is_verified:
        audit_record(
            actor=moderator,
            action="shop.verify" if shop.is_verified else "shop.unverify",
            obj=shop,
            area=area_of_cell(shop.cell_r8),
            reason=_("Business licence %(n)s checked") % {"n": shop.licence_number} if shop.is_verified else "",
            before={"is_verified": before},
            after={"is_verified": shop.is_verified},
        )


@transaction.atomic
def shop_verify(*, shop: Shop, moderator: Resident) -> Shop:
    """A moderator has checked the business licence: the shop gets its verified badge."""
    _check_moderator(moderator, shop)
    if not shop.licence_number:
        raise ShopInvalid(_("The shop has given no business licence number to check."), field="licence_number")
    if shop.is_verified:
        return shop
    shop.is_verified = True
    shop.verified_at = timezone.now()
    shop.verified_by = moderator
    shop.save(update_fields=["is_verified", "verified_at", "verified_by", "updated_at"])
    _audit_verification(shop, moderator, before=False)
    return shop


@transaction.atomic
def shop_unverify(*, shop: Shop, moderator: Resident) -> Shop:
    _check_moderator(moderator, shop)
    if shop.is_verified:
        shop.is_verified = False
        shop.verified_at = None
        shop.verified_by = None
        shop.save(update_fields=["is_verified", "verified_at", "verified_by", "updated_at"])
        _audit_verification(shop, moderator, before=True)
    return shop


# --- Suspension: called only by the moderation app's services, which check who may and record why ---


@transaction.atomic
def shop_suspend(*, shop: Shop, until: dt.datetime) -> Shop:
    """The shop leaves the public listings and posts no stalls until `until`."""
    shop.suspended_until = until
    shop.save(update_fields=["suspended_until", "updated_at"])
    return shop


@transaction.atomic
def shop_suspension_lift(*, shop: Shop) -> Shop:
    if shop.suspended_until is not None:
        shop.suspended_until = None
        shop.save(update_fields=["suspended_until", "updated_at"])
    return shop
