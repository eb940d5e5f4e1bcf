"""The demo's moderation: the demo moderator looks after the demo district, and a couple of
neighbours' reports wait in the queue. Everything goes through the real services."""

from __future__ import annotations

import random

import h3
from django.contrib.auth.models import Permission

from apps.accounts.demo import CENTER, moderators_group

from . import areas, services
from .models import ModeratorArea

# What the Moderators group may do: act on reports, appeals and sanctions (moderation.moderate),
# verify shops' licences, and read shops, stalls and residents, all within their areas.
MODERATOR_PERMISSIONS = [
    ("moderation", "moderate"),
    ("shops", "verify_shop"),
    ("shops", "view_shop"),
    ("shops", "view_shoppledge"),
    ("market", "view_stall"),
    ("accounts", "view_resident"),
]

DEMO_REPORTS = [
    # (reporter key, reason, note)
    ("neighbour3", "spam", "The same post three times this week."),
    ("neighbour7", "false_advertising", "The photo is not the real item."),
]


def seed_moderators(accounts: dict) -> None:
    """Before the shops are verified: the demo moderator looks after the district."""
    group = moderators_group()
    for app_label, codename in MODERATOR_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    moderator = accounts["moderator"]
    # The district spreads about 1.5 km around its centre: the centre's area and the six around it.
    center = h3.int_to_str(areas.area_of_point(CENTER.lat, CENTER.lng))
    for cell in sorted(h3.grid_disk(center, 1)):
        ModeratorArea.objects.get_or_create(moderator=moderator, cell=h3.str_to_int(cell))


def seed_reports(rng: random.Random, accounts: dict, stalls: list) -> list:
    """A couple of neighbours' reports waiting in the queue."""
    reports = []
    candidates = [s for s in stalls if s.seller.username.startswith("neighbour") and s.shop_id is None]
    for (reporter_key, reason, note), stall in zip(
        DEMO_REPORTS, rng.sample(candidates, k=len(DEMO_REPORTS)), strict=True
    ):
        reporter = accounts[reporter_key]
        if reporter.pk == stall.seller_id:
            reporter = accounts["resident"]
        reports.append(
            services.report_file(reporter=reporter, kind="stall", object_id=stall.pk, reason=reason, note=note)
        )
    return reports
