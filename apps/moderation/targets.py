"""What can be reported, one adapter per kind: where it is (its area), who answers for it, what it
looked like, who may report it, and how moderation hides it and puts it back.

Content (a stall; chat messages and reviews when they join) is hidden. A shop or a person is
"held": suspended for the review hold, their live stalls hidden; `state` dicts record what was
changed so that `restore` puts back exactly that.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import DomainError, NotAllowed

from . import areas, rules


class TargetNotFound(DomainError):
    status_code = 404
    code = "not_found"


class NotReportable(DomainError):
    code = "not_reportable"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _future(value: str | None) -> datetime | None:
    moment = parse_datetime(value) if value else None
    return moment if moment and moment > timezone.now() else None


class Target:
    key: str
    label = gettext_lazy("object")
    model_label: str
    # Content is hidden; accounts (a shop, a person) are held instead.
    is_content = True

    @property
    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_label)

    def content_type(self) -> ContentType:
        return ContentType.objects.get_for_model(self.model)

    def load(self, object_id, *, lock: bool = False):
        qs = self.model.objects.all()
        if lock:
            qs = qs.select_for_update()
        try:
            return qs.filter(pk=int(object_id)).first()
        except (TypeError, ValueError):
            return None

    @property
    def threshold(self) -> float:
        return rules.THRESHOLDS[self.key]

    def area(self, obj) -> int | None:
        return areas.area_of_cell(getattr(obj, "cell_r8", None))

    def subject(self, obj):
        raise NotImplementedError

    def shop(self, obj):
        return None

    def title(self, obj) -> str:
        return str(obj)[:200]

    def snapshot(self, obj) -> dict:
        raise NotImplementedError

    def url(self, obj) -> str:
        raise NotImplementedError

    def check_reportable(self, obj, reporter) -> None:
        raise NotImplementedError

    def is_hidden(self, obj) -> bool:
        raise NotImplementedError

    def hide(self, obj) -> dict:
        raise NotImplementedError

    def restore(self, obj, state: dict) -> None:
        raise NotImplementedError


class StallTarget(Target):
    key = "stall"
    label = gettext_lazy("stall")
    model_label = "market.Stall"

    def load(self, object_id, *, lock: bool = False):
        stall = super().load(object_id, lock=lock)
        if stall is not None and not lock:
            stall = self.model.objects.select_related("shop", "seller").get(pk=stall.pk)
        return stall

    def subject(self, obj):
        return obj.shop.owner if obj.shop_id else obj.seller

    def shop(self, obj):
        return obj.shop if obj.shop_id else None

    def title(self, obj) -> str:
        return obj.title[:200]

    def url(self, obj) -> str:
        return reverse("market:stall_detail", args=[obj.pk])

    def snapshot(self, obj) -> dict:
        return {
            "title": obj.title,
            "text": obj.description,
            "price": str(obj.price) if obj.price is not None else None,
            "kind": obj.kind,
            "status": obj.status,
            "seller": str(obj.seller),
            "shop": obj.shop.name if obj.shop_id else None,
            "photos": [p.image.url for p in obj.photos.all() if p.image],
            "url": self.url(obj),
        }

    def check_reportable(self, obj, reporter) -> None:
        from apps.market.models import Stall
        from apps.market.services import stall_can_manage

        if obj.status == Stall.Status.HIDDEN:
            raise TargetNotFound(_("This stall is not shown any more."))
        if stall_can_manage(stall=obj, actor=reporter):
            raise NotReportable(_("You cannot report your own stall."))

    def is_hidden(self, obj) -> bool:
        return obj.status == obj.Status.HIDDEN

    def hide(self, obj) -> dict:
        from apps.market.services import stall_hide

        return {"status": stall_hide(stall=obj)}

    def restore(self, obj, state: dict) -> None:
        from apps.market.services import stall_restore

        stall_restore(stall=obj, status=state.get("status") or obj.Status.OPEN)


class ShopTarget(Target):
    key = "shop"
    label = gettext_lazy("shop")
    model_label = "shops.Shop"
    is_content = False

    def subject(self, obj):
        return obj.owner

    def shop(self, obj):
        return obj

    def title(self, obj) -> str:
        return obj.name[:200]

    def url(self, obj) -> str:
        return f"/shops/{obj.pk}/"

    def snapshot(self, obj) -> dict:
        return {
            "title": obj.name,
            "text": obj.description,
            "address": obj.address,
            "category": obj.category,
            "licence_number": obj.licence_number,
            "verified": obj.is_verified,
            "owner": str(obj.owner),
            "url": self.url(obj),
        }

    def check_reportable(self, obj, reporter) -> None:
        if obj.owner_id == reporter.pk or obj.staff.filter(pk=reporter.pk).exists():
            raise NotReportable(_("You cannot report your own shop."))
        if self.is_hidden(obj):
            raise TargetNotFound(_("This shop is not shown at the moment."))

    def is_hidden(self, obj) -> bool:
        return obj.suspended_until is not None and obj.suspended_until > timezone.now()

    def hide(self, obj) -> dict:
        return hold_shop(obj, until=timezone.now() + rules.REVIEW_HOLD)

    def restore(self, obj, state: dict) -> None:
        unhold_shop(obj, state)


class ResidentTarget(Target):
    key = "resident"
    label = gettext_lazy("person")
    model_label = "accounts.Resident"
    is_content = False

    def area(self, obj) -> int | None:
        return areas.area_of_cell(obj.home_cell)

    def subject(self, obj):
        return obj

    def title(self, obj) -> str:
        return f"{obj.display_name} (@{obj.username})"[:200]

    def url(self, obj) -> str:
        return reverse("accounts:resident_detail", args=[obj.pk])

    def snapshot(self, obj) -> dict:
        return {
            "title": obj.display_name,
            "text": obj.bio,
            "username": obj.username,
            "joined": _iso(obj.date_joined),
            "verified": obj.is_verified_resident,
            "url": self.url(obj),
        }

    def check_reportable(self, obj, reporter) -> None:
        if obj.pk == reporter.pk:
            raise NotReportable(_("You cannot report yourself."))
        if not obj.is_active:
            raise TargetNotFound(_("This account is closed."))

    def is_hidden(self, obj) -> bool:
        return obj.is_suspended or not obj.is_active

    def hide(self, obj) -> dict:
        return hold_resident(obj, until=timezone.now() + rules.REVIEW_HOLD)

    def restore(self, obj, state: dict) -> None:
        unhold_resident(obj, state)


class MessageTarget(Target):
    """A chat message: its area is its room's, or for a direct or shop conversation the writer's
    (the shop's place when written for a shop, else the sender's home area)."""

    key = "message"
    label = gettext_lazy("chat message")
    model_label = "chat.Message"
    CONTEXT = 5  # earlier messages kept with the report, so moderators read it in its context

    def load(self, object_id, *, lock: bool = False):
        message = super().load(object_id, lock=lock)
        if message is not None and not lock:
            message = self.model.objects.select_related("conversation", "sender", "shop").get(pk=message.pk)
        return message

    def area(self, obj) -> int | None:
        conversation = obj.conversation
        if conversation.room_cell is not None:
            return areas.area_of_cell(conversation.room_cell)
        if obj.shop_id:
            return areas.area_of_cell(obj.shop.cell_r8)
        return areas.area_of_cell(obj.sender.home_cell)

    def subject(self, obj):
        return obj.sender

    def shop(self, obj):
        return obj.shop if obj.shop_id else None

    def title(self, obj) -> str:
        return f"{obj.sender}: {obj.body or _('[photo]')}"[:200]

    def url(self, obj) -> str:
        return reverse("chat:conversation", args=[obj.conversation_id])

    def snapshot(self, obj) -> dict:
        earlier = (
            self.model.objects.filter(conversation_id=obj.conversation_id, seq__lt=obj.seq)
            .select_related("sender")
            .order_by("-seq")[: self.CONTEXT]
        )
        return {
            "title": f"{obj.sender}: {obj.body[:80]}",
            "text": obj.body,
            "photos": [obj.photo.url] if obj.photo else [],
            "sender": str(obj.sender),
            "shop": obj.shop.name if obj.shop_id else None,
            "conversation": obj.conversation.kind,
            "context": [{"seq": m.seq, "sender": str(m.sender), "body": m.body} for m in reversed(earlier)],
            "url": self.url(obj),
        }

    def check_reportable(self, obj, reporter) -> None:
        from apps.chat.selectors import is_member

        if not is_member(reporter, obj.conversation):
            raise NotAllowed(_("You cannot report a message you cannot see."))
        if obj.sender_id == reporter.pk:
            raise NotReportable(_("You cannot report your own message."))
        if obj.hidden_at is not None:
            raise TargetNotFound(_("This message is hidden already."))

    def is_hidden(self, obj) -> bool:
        return obj.hidden_at is not None

    def hide(self, obj) -> dict:
        from apps.chat.services import message_hide

        message_hide(message=obj)
        return {"hidden": False}

    def restore(self, obj, state: dict) -> None:
        from apps.chat.services import message_unhide

        message_unhide(message=obj)


class ReviewTarget(Target):
    """A review: where it shows (the shop's area, or the reviewed neighbour's); its author answers."""

    key = "review"
    label = gettext_lazy("review")
    model_label = "trust.Review"

    def load(self, object_id, *, lock: bool = False):
        review = super().load(object_id, lock=lock)
        if review is not None and not lock:
            review = self.model.objects.select_related("author", "subject", "shop").get(pk=review.pk)
        return review

    def area(self, obj) -> int | None:
        if obj.shop_id:
            return areas.area_of_cell(obj.shop.cell_r8)
        return areas.area_of_cell(obj.subject.home_cell)

    def subject(self, obj):
        return obj.author

    def title(self, obj) -> str:
        return f"{obj.stars}★ {obj.author}: {obj.text or ''}"[:200]

    def url(self, obj) -> str:
        if obj.shop_id:
            return f"/shops/{obj.shop_id}/"
        return reverse("accounts:resident_detail", args=[obj.subject_id])

    def snapshot(self, obj) -> dict:
        return {
            "title": f"{obj.stars}★ {obj.author}",
            "text": obj.text,
            "stars": obj.stars,
            "author": str(obj.author),
            "about": obj.shop.name if obj.shop_id else str(obj.subject),
            "reply": obj.reply,
            "url": self.url(obj),
        }

    def check_reportable(self, obj, reporter) -> None:
        if obj.author_id == reporter.pk:
            raise NotReportable(_("You cannot report your own review."))
        # A seller's review of a buyer is private: only the buyer (and its author) read it.
        if not obj.is_public and obj.subject_id != reporter.pk:
            raise NotAllowed(_("You cannot report a review you cannot see."))
        if obj.hidden_at is not None:
            raise TargetNotFound(_("This review is hidden already."))

    def is_hidden(self, obj) -> bool:
        return obj.hidden_at is not None

    def hide(self, obj) -> dict:
        from apps.trust.services import review_hide

        review_hide(review=obj)
        return {"hidden": False}

    def restore(self, obj, state: dict) -> None:
        from apps.trust.services import review_unhide

        review_unhide(review=obj)


# --- Holding accounts: shared by the review hold and by suspensions ------------------------------


def hold_shop(shop, *, until: datetime) -> dict:
    """Suspends the shop until `until` (never shortening a longer suspension) and hides its live
    stalls; returns what `unhold_shop` needs."""
    from apps.market.services import stalls_hide_live
    from apps.shops.services import shop_suspend

    before = shop.suspended_until
    if before is None or before < until:
        shop_suspend(shop=shop, until=until)
    return {"suspended_until": _iso(before), "stalls": stalls_hide_live(shop=shop)}


def unhold_shop(shop, state: dict) -> None:
    from apps.market.services import stalls_restore
    from apps.shops.services import shop_suspend, shop_suspension_lift

    earlier = _future(state.get("suspended_until"))
    if earlier:
        shop_suspend(shop=shop, until=earlier)
    else:
        shop_suspension_lift(shop=shop)
    stalls_restore(hidden=state.get("stalls") or {})


def hold_resident(resident, *, until: datetime) -> dict:
    from apps.accounts.services import resident_suspend
    from apps.market.services import stalls_hide_live

    before = resident.suspended_until
    if before is None or before < until:
        resident_suspend(resident=resident, until=until)
    return {"suspended_until": _iso(before), "stalls": stalls_hide_live(seller=resident)}


def unhold_resident(resident, state: dict) -> None:
    from apps.accounts.services import resident_suspend, resident_suspension_lift
    from apps.market.services import stalls_restore

    earlier = _future(state.get("suspended_until"))
    if earlier:
        resident_suspend(resident=resident, until=earlier)
    else:
        resident_suspension_lift(resident=resident)
    stalls_restore(hidden=state.get("stalls") or {})


# --- The registry --------------------------------------------------------------------------------

TARGETS: dict[str, Target] = {
    t.key: t for t in (StallTarget(), ShopTarget(), ResidentTarget(), MessageTarget(), ReviewTarget())
}


def target_get(kind: str) -> Target:
    try:
        return TARGETS[kind]
    except (KeyError, TypeError):
        raise NotReportable(
            _("Choose what to report: %(kinds)s.") % {"kinds": ", ".join(sorted(TARGETS))}, field="kind"
        ) from None


def target_for_object(obj) -> Target:
    for target in TARGETS.values():
        if isinstance(obj, target.model):
            return target
    raise NotReportable(_("This cannot be reported."))


def kind_choices() -> list[tuple[str, str]]:
    return [(key, str(t.label)) for key, t in TARGETS.items()]
