from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Resident
from apps.core.errors import DomainError, NotAllowed
from apps.core.images import image_clean
from apps.core.outbox import task_queue_on_commit
from apps.core.ratelimit import rate_check
from apps.shops.models import Shop

from . import card_cache
from .models import Stall, StallPhoto
from .prohibited import prohibited_reason

MAX_PHOTOS = 6
MAX_DAYS = 30
SHOP_DEFAULT = timedelta(hours=24)
RESIDENT_DEFAULT = timedelta(days=7)


class StallInvalid(DomainError):
    code = "invalid_stall"


class StallPhotoNotFound(DomainError):
    status_code = 404
    code = "not_found"


class StallProhibited(DomainError):
    code = "prohibited"


class StallNotEditable(DomainError):
    code = "not_editable"
    status_code = 409


def epoch_days(moment: datetime) -> float:
    return moment.timestamp() / 86400.0


def stall_can_manage(*, stall: Stall, actor) -> bool:
    if stall.seller_id == actor.pk:
        return True
    if stall.shop_id is not None:
        shop = stall.shop
        return shop.owner_id == actor.pk or shop.staff.filter(pk=actor.pk).exists()
    return False


def _shop_rank_penalty(shop: Shop) -> float:
    from apps.moderation.selectors import shop_rank_penalty_days

    return shop_rank_penalty_days(shop=shop)


def _shop_trust(reputation: float) -> float:
    """What `Stall.shop_trust` holds for a shop's stalls: its stored reputation less the neutral score."""
    from apps.trust.rules import REPUTATION_NEUTRAL

    return reputation - REPUTATION_NEUTRAL


def _stall_take_shop_standing(stall: Stall) -> None:
    """Puts the shop's sanctions and reputation, as they are now, on a stall that goes (back) up:
    published, renewed, restored. Residents' stalls are neutral."""
    if stall.shop_id is None:
        stall.rank_penalty_days, stall.shop_trust = 0.0, 0.0
        return
    reputation = Shop.objects.filter(pk=stall.shop_id).values_list("reputation", flat=True).get()
    stall.rank_penalty_days, stall.shop_trust = _shop_rank_penalty(stall.shop), _shop_trust(reputation)


def _shop_for_seller(shop: Shop, seller) -> Shop:
    if shop.owner_id != seller.pk and not shop.staff.filter(pk=seller.pk).exists():
        raise NotAllowed(_("Only the shop's owner and staff can post its stalls."), field="shop")
    if shop.suspended_until and shop.suspended_until > timezone.now():
        raise NotAllowed(_("This shop is suspended and cannot post stalls for now."), field="shop")
    if shop.lat is None:
        raise StallInvalid(_("The shop has no location yet."), field="shop")
    return shop


def _clean_price(kind: str, price) -> Decimal | None:
    if price in (None, ""):
        if kind == Stall.Kind.SALE:
            raise StallInvalid(_("Something for sale needs a price."), field="price")
        return None
    if kind == Stall.Kind.FREE:
        raise StallInvalid(_("A free stall has no price."), field="price")
    try:
        value = Decimal(str(price))
    except (InvalidOperation, ValueError):
        raise StallInvalid(_("The price must be a number."), field="price") from None
    if not value.is_finite() or value < 0:
        raise StallInvalid(_("The price cannot be negative."), field="price")
    if value >= Stall.MAX_PRICE:
        raise StallInvalid(_("That price is too high for a neighbourhood market."), field="price")
    if value != value.quantize(Decimal("0.01")):
        raise StallInvalid(_("Prices have at most two decimals."), field="price")
    return value


def _clean_expiry(expires_at: datetime | None, default: timedelta, now: datetime) -> datetime:
    if expires_at is None:
        return now + default
    if timezone.is_naive(expires_at):
        raise StallInvalid(_("The expiry needs a time zone."), field="expires_at")
    if expires_at <= now:
        raise StallInvalid(_("The expiry must be in the future."), field="expires_at")
    if expires_at > now + timedelta(days=MAX_DAYS):
        raise StallInvalid(_("A stall can stay up for at most 30 days."), field="expires_at")
    return expires_at


def _check_content(*, kind: str, title: str, description: str, starts_at, now) -> None:
    if not title.strip():
        raise StallInvalid(_("A stall needs a title."), field="title")
    reason = prohibited_reason(title, description)
    if reason:
        raise StallProhibited(str(reason), field="title")
    if kind == Stall.Kind.EVENT:
        if starts_at is None:
            raise StallInvalid(_("An event needs a start time."), field="starts_at")
        if starts_at <= now:
            raise StallInvalid(_("The event must start in the future."), field="starts_at")
    elif starts_at is not None:
        raise StallInvalid(_("Only events have a start time."), field="starts_at")


def _clean_photos(photos: Sequence, existing: int = 0) -> list:
    if existing + len(photos) > MAX_PHOTOS:
        raise StallInvalid(_("A stall can have at most 6 photos."), field="photos")
    return [image_clean(p, field="photos") for p in photos]


@contextmanager
def _atomic_with_photos() -> Iterator[list]:
    """A transaction that also writes photo files. Storage has no transactions: a file is written
    at once, so when the transaction fails (a later photo, its row, the commit itself), the files
    it wrote are deleted again and no file is left that no row points to. Inside a caller's own
    transaction this is a savepoint, and a later rollback of the caller's leaves its files."""
    written: list = []
    try:
        with transaction.atomic():
            yield written
    except BaseException:
        for storage, name in written:
            storage.delete(name)
        raise


def _photos_save(stall: Stall, images: Sequence, *, first_position: int, written: list) -> list[StallPhoto]:
    saved = []
    for offset, image in enumerate(images):
        photo = StallPhoto(stall=stall, position=first_position + offset)
        photo.image.save(image.name, image, save=False)
        written.append((photo.image.storage, photo.image.name))
        photo.save()
        saved.append(photo)
    return saved


def stall_publish(
    *,
    seller,
    kind: str,
    title: str,
    description: str = "",
    category: str = "other",
    price=None,
    currency: str = "CNY",
    quantity: int = 1,
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    shop: Shop | None = None,
    photos: Sequence = (),
) -> Stall:
    with _atomic_with_photos() as written:
        now = timezone.now()
        if seller.is_suspended:
            raise NotAllowed(_("Your account is suspended and cannot post stalls for now."))
        if kind not in Stall.Kind.values:
            raise StallInvalid(_("Unknown kind of stall."), field="kind")
        _check_content(kind=kind, title=title, description=description, starts_at=starts_at, now=now)
        stall = Stall(
            seller=seller,
            kind=kind,
            category=category,
            title=title.strip(),
            description=description.strip(),
            price=_clean_price(kind, price),
            currency=currency,
            quantity=quantity,
            starts_at=starts_at,
            fresh_days=epoch_days(now),
        )
        if shop is not None:
            shop = _shop_for_seller(shop, seller)
            stall.shop = shop
            _stall_take_shop_standing(stall)
            stall.place_at(shop.point)
            stall.location_is_exact = True
            stall.expires_at = _clean_expiry(expires_at, SHOP_DEFAULT, now)
        else:
            if seller.home_cell is None:
                raise StallInvalid(_("Choose your home area before posting a stall."), field="home")
            stall.place_at(seller.point)  # the centre of the home cell, never a point of its own
            stall.expires_at = _clean_expiry(expires_at, RESIDENT_DEFAULT, now)
        cleaned = _clean_photos(photos)
        stall.full_clean()
        rate_check("stall_publish", user=seller)
        stall.save()
        _photos_save(stall, cleaned, first_position=0, written=written)
        if shop is not None:
            from .tasks import stall_notify_followers

            task_queue_on_commit(stall_notify_followers, stall.pk)
        return stall


EDITABLE_STATUSES = (Stall.Status.OPEN, Stall.Status.RESERVED)


def _managed(stall: Stall, actor) -> Stall:
    stall = Stall.objects.select_for_update().get(pk=stall.pk)
    if not stall_can_manage(stall=stall, actor=actor):
        raise NotAllowed(_("Only the seller can change this stall."))
    return stall


@transaction.atomic
def stall_update(
    *,
    stall: Stall,
    actor,
    title: str | None = None,
    description: str | None = None,
    category: str | None = None,
    price=...,
    quantity: int | None = None,
    starts_at=...,
    expires_at: datetime | None = None,
) -> Stall:
    stall = _managed(stall, actor)
    if stall.status not in EDITABLE_STATUSES:
        raise StallNotEditable(_("Only open or reserved stalls can be edited; renew it first."))
    now = timezone.now()
    if title is not None:
        stall.title = title.strip()
    if description is not None:
        stall.description = description.strip()
    if category is not None:
        stall.category = category
    if price is not ...:
        stall.price = _clean_price(stall.kind, price)
    if quantity is not None:
        stall.quantity = quantity
    if starts_at is not ...:
        stall.starts_at = starts_at
    _check_content(
        kind=stall.kind, title=stall.title, description=stall.description, starts_at=stall.starts_at, now=now
    )
    if expires_at is not None:
        stall.expires_at = _clean_expiry(expires_at, RESIDENT_DEFAULT, now)
    stall.full_clean()
    stall.save()
    return stall


def _set_status(stall: Stall, actor, status: str, allowed_from: tuple) -> Stall:
    stall = _managed(stall, actor)
    if stall.status not in allowed_from:
        raise StallNotEditable(
            _("This stall is %(status)s and cannot be changed that way.") % {"status": stall.get_status_display()}
        )
    stall.status = status
    stall.save(update_fields=["status", "updated_at"])
    return stall


@transaction.atomic
def stall_reserve(*, stall: Stall, actor) -> Stall:
    return _set_status(stall, actor, Stall.Status.RESERVED, (Stall.Status.OPEN,))


@transaction.atomic
def stall_reopen(*, stall: Stall, actor) -> Stall:
    return _set_status(stall, actor, Stall.Status.OPEN, (Stall.Status.RESERVED,))


@transaction.atomic
def stall_close(*, stall: Stall, actor) -> Stall:
    return _set_status(stall, actor, Stall.Status.CLOSED, (Stall.Status.OPEN, Stall.Status.RESERVED))


@transaction.atomic
def stall_renew(*, stall: Stall, actor, expires_at: datetime | None = None) -> Stall:
    """Puts an open, reserved or expired stall up again: new expiry, fresh again in the feed."""
    stall = _managed(stall, actor)
    if actor.is_suspended:
        raise NotAllowed(_("Your account is suspended and cannot post stalls for now."))
    if stall.status not in (*EDITABLE_STATUSES, Stall.Status.EXPIRED):
        raise StallNotEditable(_("Closed or hidden stalls cannot be renewed."))
    now = timezone.now()
    default = SHOP_DEFAULT if stall.shop_id else RESIDENT_DEFAULT
    stall.expires_at = _clean_expiry(expires_at, default, now)
    if stall.status == Stall.Status.EXPIRED:
        stall.status = Stall.Status.OPEN
    stall.fresh_days = epoch_days(now)
    _stall_take_shop_standing(stall)
    stall.save(update_fields=["expires_at", "status", "fresh_days", "rank_penalty_days", "shop_trust", "updated_at"])
    return stall


def stall_photos_add(*, stall: Stall, actor, photos: Sequence) -> list[StallPhoto]:
    with _atomic_with_photos() as written:
        stall = _managed(stall, actor)
        existing = stall.photos.count()
        cleaned = _clean_photos(photos, existing=existing)
        return _photos_save(stall, cleaned, first_position=existing, written=written)


@transaction.atomic
def stall_photo_remove(*, stall: Stall, actor, photo_id: int) -> None:
    stall = _managed(stall, actor)
    photo = stall.photos.filter(pk=photo_id).first()
    if photo is None:
        raise StallPhotoNotFound(_("No such photo on this stall."), field="photo")
    name, storage = photo.image.name, photo.image.storage
    photo.delete()
    transaction.on_commit(lambda: storage.delete(name))


def stalls_expire_due(*, now: datetime | None = None) -> int:
    """Marks stalls past their expiry as expired. A conditional update: safe to run twice or at once."""
    now = now or timezone.now()
    return Stall.objects.filter(
        Q(status=Stall.Status.OPEN) | Q(status=Stall.Status.RESERVED), expires_at__lte=now
    ).update(status=Stall.Status.EXPIRED, updated_at=now)


VISIT_GAP = timedelta(minutes=30)
VISIT_TOUCH = timedelta(minutes=1)


def resident_feed_visit(*, resident, now: datetime | None = None) -> datetime | None:
    """Records a look at the feed and returns the line for "new": the end of the previous visit.

    A visit is a run of looks less than 30 minutes apart. Writes at most once a minute per
    resident, so a busy feed page does not turn every view into an UPDATE.
    """
    now = now or timezone.now()
    last = resident.feed_visit_at
    if last is not None and now - last < VISIT_TOUCH:
        return resident.feed_seen_at
    fields = {"feed_visit_at": now}
    if last is None or now - last >= VISIT_GAP:
        fields["feed_seen_at"] = last
    Resident.objects.filter(pk=resident.pk).update(**fields)
    for name, value in fields.items():
        setattr(resident, name, value)
    return resident.feed_seen_at


# --- Moderation: called only by the moderation app's services, which check who may and record why ---

RESTORABLE = (Stall.Status.OPEN, Stall.Status.RESERVED, Stall.Status.CLOSED, Stall.Status.EXPIRED)
LIVE = (Stall.Status.OPEN, Stall.Status.RESERVED)


@transaction.atomic
def stall_hide(*, stall: Stall) -> str:
    """Takes the stall out of every listing; returns the status it had, for `stall_restore`."""
    stall = Stall.objects.select_for_update().get(pk=stall.pk)
    before = stall.status
    if before != Stall.Status.HIDDEN:
        stall.status = Stall.Status.HIDDEN
        stall.save(update_fields=["status", "updated_at"])
    return before


@transaction.atomic
def stall_restore(*, stall: Stall, status: str = Stall.Status.OPEN) -> Stall:
    """Puts a hidden stall back as it was; one whose expiry passed meanwhile comes back expired."""
    if status not in RESTORABLE:
        raise StallInvalid(_("A stall can be restored as open, reserved, closed or expired."), field="status")
    stall = Stall.objects.select_for_update().get(pk=stall.pk)
    if stall.status != Stall.Status.HIDDEN:
        return stall
    if status in LIVE and stall.expires_at <= timezone.now():
        status = Stall.Status.EXPIRED
    stall.status = status
    fields = ["status", "updated_at"]
    if status in LIVE and stall.shop_id is not None:
        # Hidden, it missed what moved its shop's live stalls meanwhile (sanctions, reputation).
        _stall_take_shop_standing(stall)
        fields += ["rank_penalty_days", "shop_trust"]
    stall.save(update_fields=fields)
    return stall


@transaction.atomic
def stalls_hide_live(*, shop: Shop | None = None, seller=None) -> dict[int, str]:
    """Hides the open and reserved stalls of a shop or of a resident (their own, not a shop's);
    returns {stall id: status it had}, what `stalls_restore` needs to put them back."""
    qs = Stall.objects.select_for_update().filter(status__in=LIVE)
    qs = qs.filter(shop=shop) if shop is not None else qs.filter(seller=seller, shop__isnull=True)
    hidden = dict(qs.values_list("pk", "status"))
    card_cache.stalls_touch(Stall.objects.filter(pk__in=hidden))
    Stall.objects.filter(pk__in=hidden).update(status=Stall.Status.HIDDEN, updated_at=timezone.now())
    return hidden


@transaction.atomic
def stalls_restore(*, hidden: dict) -> int:
    """Puts back stalls hidden by `stalls_hide_live` (ids as int or str, as JSON keeps them)."""
    restored = 0
    for stall in Stall.objects.filter(pk__in=[int(pk) for pk in hidden], status=Stall.Status.HIDDEN):
        stall_restore(stall=stall, status=hidden.get(stall.pk, hidden.get(str(stall.pk), Stall.Status.OPEN)))
        restored += 1
    return restored


@transaction.atomic
def stalls_shop_trust_set(*, shop: Shop, reputation: float) -> int:
    """Moves the shop's live stalls with its reputation, which the trust app has just stored; new,
    renewed and restored stalls take it then. The caller marks the shop's cards as changed."""
    return Stall.objects.filter(shop=shop, status__in=LIVE).update(shop_trust=_shop_trust(reputation))


@transaction.atomic
def stalls_rank_penalty_set(*, shop: Shop, days: float) -> int:
    """Moves the shop's live stalls down (or back up) the feed; new stalls take it at publishing."""
    card_cache.shop_touch(shop.pk)
    return Stall.objects.filter(shop=shop, status__in=LIVE).update(rank_penalty_days=days)
