"""Verified residency: letter codes, the vouch threshold and moderators' decisions.

These services are the only code that writes `Resident.residency_verified_at`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.accounts.models import Resident
from apps.core.errors import NotAllowed
from apps.core.ratelimit import wait_text
from apps.moderation import areas
from apps.moderation.audit import audit_record
from apps.notifications.kinds import Kind
from apps.notifications.services import notification_send

from .. import rules, selectors
from ..errors import (
    AlreadyVerified,
    CodeExpired,
    CodeLocked,
    CodeWrong,
    LetterRefused,
    NoLetter,
    ReasonRequired,
)
from ..models import LetterBatch, ResidencyEvent, ResidencyLetter

# --- Verifying and un-verifying -------------------------------------------------------------------


def _verify(*, resident: Resident, kind: str, actor: Resident | None = None, reason: str = "") -> ResidencyEvent:
    now = timezone.now()
    Resident.objects.filter(pk=resident.pk).update(residency_verified_at=now)
    resident.residency_verified_at = now
    event = ResidencyEvent.objects.create(resident=resident, kind=kind, actor=actor, reason=reason)
    # A letter still on its way is no longer needed; its address goes with it.
    ResidencyLetter.objects.filter(resident=resident, status__in=ResidencyLetter.OPEN).update(
        status=ResidencyLetter.Status.CANCELLED, postal_address="", code_hash=""
    )
    notification_send(recipient_id=resident.pk, kind=Kind.RESIDENCY, url=reverse("trust:residency"))
    return event


def _unverify(*, resident: Resident, kind: str, actor: Resident | None = None, reason: str = "") -> ResidencyEvent:
    Resident.objects.filter(pk=resident.pk).update(residency_verified_at=None)
    resident.residency_verified_at = None
    event = ResidencyEvent.objects.create(resident=resident, kind=kind, actor=actor, reason=reason)
    # Their vouches no longer count; residents verified by them alone may fall below the threshold.
    _recheck_vouchees_of(resident)
    return event


def _vouch_threshold_met(resident: Resident) -> bool:
    return selectors.vouches_counting(resident=resident).count() >= selectors.vouches_needed(resident=resident)


@transaction.atomic
def residency_verify_if_vouched(*, resident: Resident) -> bool:
    """Verifies an unverified resident whose counting vouches reach the threshold. Returns whether
    the resident is verified afterwards."""
    resident = Resident.objects.select_for_update(of=("self",)).get(pk=resident.pk)
    if resident.is_verified_resident:
        return True
    if resident.is_active and resident.has_home and _vouch_threshold_met(resident):
        n = selectors.vouches_counting(resident=resident).count()
        _verify(
            resident=resident,
            kind=ResidencyEvent.Kind.VOUCHES,
            reason=ngettext("%(n)d neighbour vouched", "%(n)d neighbours vouched", n) % {"n": n},
        )
        return True
    return False


@transaction.atomic
def residency_recheck_vouched(*, resident: Resident) -> bool:
    """A resident verified by vouches stays verified only while the vouches that count reach the
    threshold: after a withdrawal, a ban or a revocation of a voucher, this re-checks. Residents
    verified by letter or by a moderator are not affected. Returns whether still verified."""
    resident = Resident.objects.select_for_update(of=("self",)).get(pk=resident.pk)
    if not resident.is_verified_resident:
        return False
    if selectors.residency_method(resident=resident) != ResidencyEvent.Kind.VOUCHES:
        return True
    if _vouch_threshold_met(resident):
        return True
    _unverify(
        resident=resident,
        kind=ResidencyEvent.Kind.VOUCHES_LOST,
        reason=_("The vouches that verified this resident no longer reach the threshold."),
    )
    return False


def _recheck_vouchees_of(voucher: Resident) -> None:
    for vouchee in Resident.objects.filter(
        vouches_received__voucher=voucher, residency_verified_at__isnull=False
    ).distinct():
        residency_recheck_vouched(resident=vouchee)


@transaction.atomic
def residency_decide(*, moderator: Resident, resident: Resident, verify: bool, reason: str) -> ResidencyEvent:
    """A moderator verifies a resident (for example after seeing a utility bill in person) or revokes
    a verification, always with a reason kept in the resident's residency history."""
    if not moderator.has_perm("trust.decide_residency"):
        raise NotAllowed(_("Only moderators can decide on residency."))
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(_("Give a reason for this decision."), field="reason")
    if moderator.pk == resident.pk:
        raise NotAllowed(_("Moderators cannot decide on their own residency."), field="resident")
    areas.check_located(moderator, resident, _("This resident lives outside the areas you moderate."))
    resident = Resident.objects.select_for_update(of=("self",)).get(pk=resident.pk)
    if verify:
        if resident.is_verified_resident:
            raise AlreadyVerified(_("%(name)s is already verified.") % {"name": resident}, field="resident")
        event = _verify(resident=resident, kind=ResidencyEvent.Kind.GRANTED, actor=moderator, reason=reason)
    else:
        if not resident.is_verified_resident:
            raise AlreadyVerified(_("%(name)s is not verified.") % {"name": resident}, field="resident")
        event = _unverify(resident=resident, kind=ResidencyEvent.Kind.REVOKED, actor=moderator, reason=reason)
    audit_record(
        actor=moderator,
        action="residency.verify" if verify else "residency.revoke",
        obj=resident,
        area=areas.area_of_cell(resident.home_cell),
        reason=reason,
        before={"verified": not verify},
        after={"verified": verify},
    )
    return event


# --- Letters ----------------------------------------------------------------------------------------


def code_normalise(code: str) -> str:
    """What a resident types, as the alphabet has it: case, spaces and dashes do not matter."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _code_hash(salt: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def code_display(code: str) -> str:
    """ "K7QM3XPD" printed as "K7QM-3XPD", easier to copy from paper."""
    return f"{code[:4]}-{code[4:]}"


@transaction.atomic
def residency_letter_request(*, resident: Resident, postal_address: str) -> ResidencyLetter:
    """Asks for a letter with a code. The address is kept only until the letter is done with."""
    if resident.is_verified_resident:
        raise AlreadyVerified(_("Your residency is already verified."))
    if not resident.has_home:
        raise LetterRefused(_("Choose your home area first: the letter verifies that you live there."))
    address = "\n".join(line.strip() for line in (postal_address or "").strip().splitlines() if line.strip())
    if len(address) < 8:
        raise LetterRefused(_("Give the full postal address the letter should go to."), field="postal_address")
    if len(address) > rules.ADDRESS_MAX_LENGTH:
        raise LetterRefused(
            _("The address is too long (at most %(n)d characters).") % {"n": rules.ADDRESS_MAX_LENGTH},
            field="postal_address",
        )
    if selectors.letter_open(resident=resident) is not None:
        raise LetterRefused(_("A letter is already requested or on its way to you."))
    last = ResidencyLetter.objects.filter(resident=resident).order_by("-pk").first()
    if last is not None and last.status == ResidencyLetter.Status.LOCKED:
        _refuse_while_cooling_off(last, timezone.now())
    return ResidencyLetter.objects.create(resident=resident, postal_address=address)


def _cooloff_left(letter: ResidencyLetter, now: datetime) -> int:
    """Seconds until a new letter can be asked for after this locked one (0: it can be now)."""
    if letter.locked_at is None:  # locked before the time was recorded: long enough ago
        return 0
    return max(0, math.ceil((letter.locked_at + rules.LETTER_LOCK_COOLOFF - now).total_seconds()))


def _refuse_while_cooling_off(letter: ResidencyLetter, now: datetime, field: str | None = None) -> None:
    """A locked letter keeps its resident from asking for the next one for LETTER_LOCK_COOLOFF: a
    429 with the time to wait, as every rate limit answers (apps.core.ratelimit)."""
    wait = _cooloff_left(letter, now)
    if wait:
        raise CodeLocked(
            _("Your last letter was locked after too many wrong codes. You can ask for a new letter after a pause.")
            + " "
            + wait_text(wait),
            retry_after=wait,
            field=field,
        )


@transaction.atomic
def residency_letter_cancel(*, resident: Resident) -> ResidencyLetter:
    letter = selectors.letter_open(resident=resident)
    if letter is None:
        raise NoLetter(_("You have no letter requested."))
    letter.status = ResidencyLetter.Status.CANCELLED
    letter.postal_address = ""
    letter.code_hash = ""
    letter.save(update_fields=["status", "postal_address", "code_hash"])
    return letter


@dataclass(frozen=True)
class PrintedLetter:
    """A letter with its code in clear: exists only in memory, long enough to render the PDF."""

    letter: ResidencyLetter
    code: str


@transaction.atomic
def residency_letters_print(*, moderator: Resident, letter_ids: list[int]) -> tuple[LetterBatch, list[PrintedLetter]]:
    """Gives each letter a fresh code and marks it posted; returns the codes for the PDF only.

    Printing a letter again (a jammed printer, a lost envelope) gives it a new code: the old one
    stops working, and the attempts start again.
    """
    if not moderator.has_perm("trust.print_letters"):
        raise NotAllowed(_("Only moderators can print residency letters."))
    letters = list(
        ResidencyLetter.objects.select_for_update(of=("self",))
        .filter(pk__in=letter_ids, status__in=ResidencyLetter.OPEN)
        .select_related("resident")
        .order_by("pk")
    )
    if not letters:
        raise LetterRefused(_("None of these letters is waiting to be printed."))
    for letter in letters:
        areas.check_located(moderator, letter.resident, _("Some of these residents live outside your areas."))
    now = timezone.now()
    batch = LetterBatch.objects.create(printed_by=moderator, size=len(letters))
    printed = []
    for letter in letters:
        code = "".join(secrets.choice(rules.CODE_ALPHABET) for _i in range(rules.CODE_LENGTH))
        letter.code_salt = secrets.token_hex(16)
        letter.code_hash = _code_hash(letter.code_salt, code)
        letter.status = ResidencyLetter.Status.PRINTED
        letter.batch = batch
        letter.attempts = 0
        letter.printed_at = now
        letter.expires_at = now + rules.LETTER_VALID_FOR
        letter.save(update_fields=["code_salt", "code_hash", "status", "batch", "attempts", "printed_at", "expires_at"])
        printed.append(PrintedLetter(letter=letter, code=code))
        audit_record(
            actor=moderator,
            action="residency.letter_print",
            obj=letter.resident,
            area=areas.area_of_cell(letter.resident.home_cell),
            after={"batch": batch.pk, "letter": letter.pk, "expires_at": letter.expires_at.isoformat()},
        )
    return batch, printed


def residency_code_enter(*, resident: Resident, code: str) -> Resident:
    """Verifies the resident when the code of their letter is right.

    Not one atomic block on purpose: a wrong code must leave its mark (the attempt counted, a letter
    locked or expired) even though the call ends in an error. Each write is its own small
    transaction, and the error is raised after it commits.
    """
    if resident.is_verified_resident:
        raise AlreadyVerified(_("Your residency is already verified."))
    typed = code_normalise(code)
    if not typed:
        raise CodeWrong(_("Type the code printed on your letter."), field="letter_code")
    now = timezone.now()
    error = None
    with transaction.atomic():
        letter = (
            ResidencyLetter.objects.select_for_update(of=("self",))
            .filter(resident=resident, status__in=[ResidencyLetter.Status.PRINTED, ResidencyLetter.Status.REQUESTED])
            .first()
        )
        if letter is None:
            last = ResidencyLetter.objects.filter(resident=resident).order_by("-pk").first()
            if last is not None and last.status == ResidencyLetter.Status.LOCKED:
                _refuse_while_cooling_off(last, now, field="letter_code")
                raise NoLetter(
                    _("Your last letter was locked after too many wrong codes. Ask for a new one."), field="letter_code"
                )
            if last is not None and last.status == ResidencyLetter.Status.EXPIRED:
                raise CodeExpired(
                    _("The code of your last letter has expired. Ask for a new one."), field="letter_code"
                )
            raise NoLetter(_("You have no letter on its way. Ask for one first."), field="letter_code")
        if letter.status == ResidencyLetter.Status.REQUESTED:
            raise NoLetter(_("Your letter has not been posted yet; the code comes with it."), field="letter_code")
        if letter.expires_at <= now:
            _letter_close(letter, ResidencyLetter.Status.EXPIRED)
            error = CodeExpired(_("This code has expired. Ask for a new letter."), field="letter_code")
        elif not hmac.compare_digest(letter.code_hash, _code_hash(letter.code_salt, typed)):
            letter.attempts += 1
            left = rules.LETTER_MAX_ATTEMPTS - letter.attempts
            if left <= 0:
                _letter_close(letter, ResidencyLetter.Status.LOCKED, attempts=letter.attempts, locked_at=now)
                wait = _cooloff_left(letter, now)
                error = CodeLocked(
                    _(
                        "That code is not right, and that was the last try: this letter is locked. "
                        "You can ask for a new letter after a pause."
                    )
                    + " "
                    + wait_text(wait),
                    retry_after=wait,
                    field="letter_code",
                )
            else:
                letter.save(update_fields=["attempts"])
                error = CodeWrong(
                    ngettext(
                        "That code is not right. %(n)d try left.", "That code is not right. %(n)d tries left.", left
                    )
                    % {"n": left},
                    field="letter_code",
                )
        else:
            letter.used_at = now
            _letter_close(letter, ResidencyLetter.Status.USED)
            _verify(resident=resident, kind=ResidencyEvent.Kind.LETTER)
    if error is not None:
        raise error
    return resident


def _letter_close(letter: ResidencyLetter, status: str, **fields) -> None:
    """A letter done with: its address and code are erased."""
    letter.status = status
    letter.postal_address = ""
    letter.code_hash = ""
    for name, value in fields.items():
        setattr(letter, name, value)
    letter.save(update_fields=["status", "postal_address", "code_hash", "used_at", *fields])


@transaction.atomic
def residency_letters_expire_due(*, now: datetime | None = None) -> int:
    """Periodic: printed letters past their expiry are closed and their addresses erased. A
    conditional update, so running it twice does no harm."""
    return ResidencyLetter.objects.filter(
        status=ResidencyLetter.Status.PRINTED, expires_at__lte=now or timezone.now()
    ).update(status=ResidencyLetter.Status.EXPIRED, postal_address="", code_hash="")
