"""Residents of some standing, moderators with areas, and reports filed through the real service."""

import itertools
from datetime import timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.accounts.models import Resident
from apps.moderation import services
from apps.moderation.areas import area_of_point
from apps.moderation.models import ModeratorArea
from apps.nearby import geo
from tests.accounts.factories import JINGAN, ResidentFactory

# Far enough from Jing'an to be another moderator's area.
PUDONG = geo.Point(31.2304, 121.5737)

_n = itertools.count()


def neighbour(*, verified: bool = True, age_days: int = 90, home: geo.Point = JINGAN, **fields) -> Resident:
    """A resident who joined `age_days` ago; verified residents are established after 30 days."""
    resident = ResidentFactory(home=home, **fields)
    now = timezone.now()
    Resident.objects.filter(pk=resident.pk).update(
        date_joined=now - timedelta(days=age_days),
        residency_verified_at=now - timedelta(days=max(age_days - 1, 0)) if verified else None,
    )
    resident.refresh_from_db()
    return resident


def ring(n: int, **kwargs) -> list[Resident]:
    """Fresh, unverified accounts: a reporting ring."""
    return [neighbour(verified=False, age_days=0, **kwargs) for _ in range(n)]


def moderator(*, at: geo.Point | None = JINGAN, verify_shops: bool = True, **fields) -> Resident:
    mod = ResidentFactory(is_staff=True, home=JINGAN, **fields)
    mod.user_permissions.add(Permission.objects.get(codename="moderate", content_type__app_label="moderation"))
    if verify_shops:
        mod.user_permissions.add(Permission.objects.get(codename="verify_shop"))
        for codename in ("view_shop", "view_stall", "view_resident"):
            mod.user_permissions.add(Permission.objects.get(codename=codename))
    if at is not None:
        ModeratorArea.objects.create(moderator=mod, cell=area_of_point(at.lat, at.lng))
    return Resident.objects.get(pk=mod.pk)  # a fresh instance: has_perm caches on the object


def superuser(**fields) -> Resident:
    return ResidentFactory(is_staff=True, is_superuser=True, **fields)


def report(obj, *, by=None, reason="false_advertising", note=""):
    kind = {"Stall": "stall", "Shop": "shop", "Resident": "resident", "Message": "message", "Review": "review"}[
        type(obj).__name__
    ]
    return services.report_file(reporter=by or neighbour(), kind=kind, object_id=obj.pk, reason=reason, note=note)


def reported_enough(obj, *, n: int = 3, reason="false_advertising"):
    """`n` established neighbours report the object: 3 hide a stall (threshold 3.0)."""
    return [report(obj, by=neighbour(), reason=reason) for _ in range(n)]
