"""The rules of trust that a request can break; interfaces turn them into a form error or a 4xx."""

from apps.core.errors import DomainError, NotAllowed
from apps.core.ratelimit import RateLimited


class NotVerified(NotAllowed):
    """Only verified residents may do this (vouch, review)."""

    code = "not_verified"


class LetterRefused(DomainError):
    code = "letter_refused"


class CodeWrong(DomainError):
    code = "code_wrong"


class CodeExpired(DomainError):
    code = "code_expired"
    status_code = 410


class CodeLocked(RateLimited):
    """Too many wrong codes locked the letter: a 429 that says when a new letter can be asked for
    (rules.LETTER_LOCK_COOLOFF after the lock)."""

    code = "code_locked"


class NoLetter(DomainError):
    code = "no_letter"
    status_code = 404


class AlreadyVerified(DomainError):
    code = "already_verified"
    status_code = 409


class VouchRefused(DomainError):
    code = "vouch_refused"


class VouchLimit(RateLimited):
    """The weekly rule (rules.VOUCHES_PER_WEEK); a 429 that says when the next vouch is possible."""

    code = "vouch_limit"


class RecognitionRefused(DomainError):
    code = "recognition_refused"


class DealRefused(DomainError):
    code = "deal_refused"


class SelfDeal(DomainError):
    """Buyer and seller side share an owner (selectors.shares_an_owner)."""

    code = "self_deal"


class DealState(DomainError):
    code = "deal_state"
    status_code = 409


class ReviewRefused(DomainError):
    code = "review_refused"


class AlreadyReviewed(DomainError):
    code = "already_reviewed"
    status_code = 409


class ClaimRefused(DomainError):
    code = "claim_refused"


class PledgeNotOffered(ClaimRefused):
    code = "pledge_not_offered"


class ClaimWindowClosed(ClaimRefused):
    code = "claim_window_closed"


class ClaimState(DomainError):
    code = "claim_state"
    status_code = 409


class ReasonRequired(DomainError):
    code = "reason_required"
