"""The numbers behind the trust rules, in one place. docs/trust.md explains each of them.

Services and selectors read them from here; tests override them with monkeypatch when a rule is
about the number itself.
"""

from datetime import timedelta

# --- Verified residency -------------------------------------------------------------------------
# Letter codes: eight characters from an alphabet without look-alikes (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
LETTER_VALID_FOR = timedelta(days=30)  # from printing
LETTER_MAX_ATTEMPTS = 5  # wrong codes before the letter is locked
LETTER_LOCK_COOLOFF = timedelta(hours=24)  # after a lock, a new letter can be asked for after this
ADDRESS_MAX_LENGTH = 300

# Vouching: voucher and vouchee live in the same H3 cell (resolution 9) or in one of its six
# neighbours, h3.grid_disk(home cell, 1).
VOUCH_RING = 1
VOUCHES_NEEDED = 2
# A small neighbourhood: fewer than this many verified residents live in that ring (the vouchee not
# counted). There one vouch is enough, or nobody there could ever be verified by neighbours.
SMALL_AREA_VERIFIED = 3
VOUCHES_NEEDED_SMALL_AREA = 1
VOUCHES_PER_WEEK = 3  # vouches given in any 7 days, withdrawn ones included
VOUCHER_MIN_AGE = timedelta(days=14)  # accounts younger than this cannot vouch (against rings of new accounts)

# --- Deals, reviews, pledge claims --------------------------------------------------------------
# At most this many confirmed deals per (seller side, buyer) and calendar day count toward reputation.
DEALS_COUNTED_PER_PAIR_PER_DAY = 1
CLAIM_ANSWER_WITHIN = timedelta(days=3)  # an open claim older than this is escalated to moderators
CLAIM_DISPUTE_WITHIN = timedelta(days=7)  # after a rejection, the buyer may dispute for this long
# How long after the deal a pledge can be invoked, for pledges whose terms carry no window of their own.
CLAIM_WINDOW_DEFAULT = {
    "refund_no_return": timedelta(days=7),
    "counterfeit": timedelta(days=90),
    "delivery": timedelta(days=7),
}

# --- Shop reputation (docs/trust.md, "The reputation formula") ------------------------------------
REPUTATION_NEUTRAL = 50.0  # a shop with no history
RATING_PRIOR = 3.5  # stars the smoothing pulls toward
RATING_PRIOR_WEIGHT = 5  # as if every shop started with five reviews of 3.5 stars
RATING_POINTS_PER_STAR = 10.0
DEALS_POINTS_MAX = 10.0
DEALS_FOR_FULL_POINTS = 100
REPEAT_WINDOW = timedelta(days=90)
REPEAT_PRIOR_CUSTOMERS = 5  # the repeat rate is repeaters / (customers + 5): two loyal friends are not 100 %
REPEAT_POINTS_MAX = 15.0
HONOURED_POINTS_EACH = 1.0
HONOURED_POINTS_MAX = 5.0
BROKEN_POINTS_EACH = 5.0
PENALTY_POINTS_EACH = 5.0
