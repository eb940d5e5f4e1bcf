"""The numbers moderation runs on, in one place; docs/moderation.md explains each choice.

Reporter weight
    weight = residency × age × record × trust, at most MAX_WEIGHT
    residency: 1.0 for a verified resident, UNVERIFIED_FACTOR otherwise;
    trust: TRUSTED_FACTOR for a resident verified neighbours vouch for (the trust app's standing);
    age: the account's age, by AGE_FACTORS (a day-old account counts for a fifth);
    record: 2 × (upheld + 1) / (decided + 2) over the reporter's past reports that moderators
    decided, clamped to RECORD_RANGE: 1.0 with no history, up to 1.5 for reporters who are
    usually right, down to 0.1 for those usually wrong (Laplace smoothing: one report proves little).

Case weight
    established reporters (verified, account older than ESTABLISHED_AGE) count in full; everybody
    else counts together for at most NEW_ACCOUNTS_CAP. A ring of new or unverified accounts, of any
    size, therefore never reaches a threshold on its own: it takes established neighbours agreeing.

Auto-hide
    when a case's weight reaches THRESHOLDS[kind] the object is hidden pending review (content) or
    held (a shop or a person: suspended for REVIEW_HOLD, which ends by itself if nobody reviews it);
    not within NO_AUTO_HIDE_AFTER_DISMISSAL of moderators dismissing reports on the same object.

Queue order
    overdue cases (older than OVERDUE) first, then by urgency = weight × severity of the main reason.

Shops' penalty points (tiers) and what they lead to, counted over POINTS_WINDOW:
    DEMOTION_LEVELS: stalls rank as if that many days older in the feed;
    BADGE_LOSS_POINTS: pledge badges no longer shown;
    SUSPENSION_POINTS: suspended for AUTO_SUSPENSION_DAYS.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from .models import Reason

# --- Reporter weight ---------------------------------------------------------------------------
UNVERIFIED_FACTOR = 0.3
# (younger than, factor); older accounts count 1.0.
AGE_FACTORS = ((timedelta(days=3), 0.2), (timedelta(days=30), 0.6))
ESTABLISHED_AGE = timedelta(days=30)
RECORD_RANGE = (0.1, 1.5)
TRUSTED_FACTOR = 1.5
MAX_WEIGHT = 2.0

# --- Cases -------------------------------------------------------------------------------------
NEW_ACCOUNTS_CAP = 1.0
THRESHOLDS = {
    "stall": 3.0,
    "message": 3.0,
    "review": 3.0,
    # Hiding a whole shop or person is heavier than one post: it takes twice the weight.
    "shop": 6.0,
    "resident": 6.0,
}
REVIEW_HOLD = timedelta(days=7)
NO_AUTO_HIDE_AFTER_DISMISSAL = timedelta(days=30)
DAILY_REPORT_LIMIT = 20
OVERDUE = timedelta(hours=48)
SEVERITY = {
    Reason.SCAM: 3,
    Reason.COUNTERFEIT: 3,
    Reason.PROHIBITED: 3,
    Reason.HARASSMENT: 3,
    Reason.FALSE_ADVERTISING: 2,
    Reason.SPAM: 1,
    Reason.OTHER: 1,
}

# --- Decisions ---------------------------------------------------------------------------------
APPEAL_WINDOW = timedelta(days=14)
MAX_SUSPENSION_DAYS = 365
REASON_MIN_LENGTH = 5

# Penalty points for a shop, for false advertising or counterfeits.
PENALTY_TIERS = {
    1: (3, _("Tier 1: misleading description (3 points)")),
    2: (6, _("Tier 2: false advertising (6 points)")),
    3: (12, _("Tier 3: counterfeit goods or a deliberate deception (12 points)")),
}
POINTS_WINDOW = timedelta(days=180)
# (points at least, days added to the age of the shop's stalls in the feed ranking)
DEMOTION_LEVELS = ((12, 5.0), (6, 2.0))
BADGE_LOSS_POINTS = 12
SUSPENSION_POINTS = 20
AUTO_SUSPENSION_DAYS = 30
SANCTIONS_SHOWN = timedelta(days=90)


def tier_points(tier: int) -> int:
    return PENALTY_TIERS[tier][0]


def rank_penalty_for(points: int) -> float:
    for at_least, days in DEMOTION_LEVELS:
        if points >= at_least:
            return days
    return 0.0


def age_factor(age: timedelta) -> float:
    for younger_than, factor in AGE_FACTORS:
        if age < younger_than:
            return factor
    return 1.0


def record_factor(upheld: int, decided: int) -> float:
    lo, hi = RECORD_RANGE
    return min(hi, max(lo, 2.0 * (upheld + 1) / (decided + 2)))


def reporter_weight(
    *, verified: bool, age: timedelta, upheld: int, decided: int, trusted: bool = False
) -> tuple[float, bool]:
    """(weight, established): see the module docstring."""
    weight = (1.0 if verified else UNVERIFIED_FACTOR) * age_factor(age) * record_factor(upheld, decided)
    if trusted:
        weight *= TRUSTED_FACTOR
    return round(min(MAX_WEIGHT, weight), 4), verified and age >= ESTABLISHED_AGE


def case_weight(established: float, others: float) -> float:
    return round(established + min(others, NEW_ACCOUNTS_CAP), 4)
