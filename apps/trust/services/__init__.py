"""Every write of trust goes through these services: `from apps.trust import services`.

Grouped by subject in submodules; docs/trust.md has the rules they enforce.
"""

from .claims import claim_answer, claim_dispute, claim_open, claim_resolve, claims_escalate_overdue
from .deals import deal_cancel, deal_confirm, deal_decline, deal_mark
from .reputation import reputation_recompute, reputations_recompute_all
from .residency import (
    PrintedLetter,
    code_display,
    code_normalise,
    residency_code_enter,
    residency_decide,
    residency_letter_cancel,
    residency_letter_request,
    residency_letters_expire_due,
    residency_letters_print,
    residency_recheck_vouched,
    residency_verify_if_vouched,
)
from .reviews import review_hide, review_reply, review_unhide, review_write
from .vouches import (
    acquaintance_privacy_set,
    recognition_confirm,
    recognition_withdraw,
    trust_account_banned,
    trust_account_reinstated,
    vouch_give,
    vouch_withdraw,
)

__all__ = [
    "PrintedLetter",
    "acquaintance_privacy_set",
    "claim_answer",
    "claim_dispute",
    "claim_open",
    "claim_resolve",
    "claims_escalate_overdue",
    "code_display",
    "code_normalise",
    "deal_cancel",
    "deal_confirm",
    "deal_decline",
    "deal_mark",
    "recognition_confirm",
    "recognition_withdraw",
    "reputation_recompute",
    "reputations_recompute_all",
    "residency_code_enter",
    "residency_decide",
    "residency_letter_cancel",
    "residency_letter_request",
    "residency_letters_expire_due",
    "residency_letters_print",
    "residency_recheck_vouched",
    "residency_verify_if_vouched",
    "review_hide",
    "review_reply",
    "review_unhide",
    "review_write",
    "trust_account_banned",
    "trust_account_reinstated",
    "vouch_give",
    "vouch_withdraw",
]
