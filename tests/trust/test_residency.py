"""Verified residency: letter codes, the vouch threshold, moderators' decisions."""

import base64
import re
import zlib
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import NotAllowed
from apps.notifications.models import Notification
from apps.trust import rules, selectors, services
from apps.trust.errors import (
    AlreadyVerified,
    CodeExpired,
    CodeLocked,
    CodeWrong,
    LetterRefused,
    NoLetter,
    ReasonRequired,
)
from apps.trust.letters import letters_pdf
from apps.trust.models import ResidencyEvent, ResidencyLetter
from tests.accounts.factories import ResidentFactory
from tests.trust.factories import moderator, neighbour

pytestmark = pytest.mark.django_db

ADDRESS = "Apt 302, Lane 88 Yuyuan Road\nJing'an, Shanghai 200040"


def pdf_text(data: bytes) -> str:
    """The text drawn in a reportlab PDF: its content streams, un-ASCII85-ed and inflated."""
    chunks = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        body = raw.strip()
        if body.endswith(b"~>"):
            body = body[:-2]
        try:
            chunks.append(zlib.decompress(base64.a85decode(body)).decode("latin-1"))
        except (ValueError, zlib.error):
            continue
    return "\n".join(chunks)


def pages(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


def printed_letter(resident, mod=None):
    services.residency_letter_request(resident=resident, postal_address=ADDRESS)
    letter = selectors.letter_open(resident=resident)
    _batch, printed = services.residency_letters_print(moderator=mod or moderator(), letter_ids=[letter.pk])
    return printed[0]


# --- Letters -----------------------------------------------------------------------------------------


def test_a_letter_code_verifies_once_and_its_address_is_erased():
    resident = neighbour()
    item = printed_letter(resident)
    letter = ResidencyLetter.objects.get(pk=item.letter.pk)
    assert letter.status == "printed"
    assert letter.postal_address == ADDRESS
    # Hashed at rest: the code appears nowhere in the row.
    assert item.code not in letter.code_hash and len(letter.code_hash) == 64

    typed = f" {item.code[:4].lower()}-{item.code[4:]} "  # case, spaces and the dash do not matter
    services.residency_code_enter(resident=resident, code=typed)
    resident.refresh_from_db()
    assert resident.is_verified_resident
    letter.refresh_from_db()
    assert (letter.status, letter.postal_address, letter.code_hash) == ("used", "", "")
    assert ResidencyEvent.objects.get(resident=resident).kind == "letter"
    assert Notification.objects.filter(recipient=resident, kind="residency").count() == 1

    # Single use: the same code again is refused, and nothing changes.
    with pytest.raises(AlreadyVerified):
        services.residency_code_enter(resident=resident, code=item.code)


def test_a_wrong_code_counts_attempts_then_locks_the_letter():
    resident = neighbour()
    item = printed_letter(resident)
    wrong = "".join("A" if ch != "A" else "B" for ch in item.code)
    for left in range(rules.LETTER_MAX_ATTEMPTS - 1, 0, -1):
        with pytest.raises(CodeWrong) as exc:
            services.residency_code_enter(resident=resident, code=wrong)
        assert f"{left} tr" in exc.value.message
        assert ResidencyLetter.objects.get(pk=item.letter.pk).attempts == rules.LETTER_MAX_ATTEMPTS - left
    with pytest.raises(CodeLocked) as locked:
        services.residency_code_enter(resident=resident, code=wrong)
    # A 429 that says when: a new letter can be asked for after the cool-off.
    cooloff = rules.LETTER_LOCK_COOLOFF.total_seconds()
    assert locked.value.status_code == 429 and cooloff - 5 <= locked.value.retry_after <= cooloff
    assert "Try again in 24 hours." in locked.value.message
    letter = ResidencyLetter.objects.get(pk=item.letter.pk)
    assert (letter.status, letter.postal_address) == ("locked", "")
    # Locked means locked: the right code no longer works either.
    with pytest.raises(CodeLocked):
        services.residency_code_enter(resident=resident, code=item.code)
    resident.refresh_from_db()
    assert not resident.is_verified_resident
    # No new letter during the cool-off; one can be asked for once it is over.
    with pytest.raises(CodeLocked) as cooling:
        services.residency_letter_request(resident=resident, postal_address=ADDRESS)
    assert 0 < cooling.value.retry_after <= cooloff
    ResidencyLetter.objects.filter(pk=letter.pk).update(locked_at=timezone.now() - rules.LETTER_LOCK_COOLOFF)
    with pytest.raises(NoLetter):  # the old letter's code: still refused, but no longer a wait
        services.residency_code_enter(resident=resident, code=item.code)
    services.residency_letter_request(resident=resident, postal_address=ADDRESS)


def test_an_expired_code_is_refused_and_the_letter_closed():
    resident = neighbour()
    item = printed_letter(resident)
    ResidencyLetter.objects.filter(pk=item.letter.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(CodeExpired):
        services.residency_code_enter(resident=resident, code=item.code)
    letter = ResidencyLetter.objects.get(pk=item.letter.pk)
    assert (letter.status, letter.postal_address) == ("expired", "")
    with pytest.raises(CodeExpired):
        services.residency_code_enter(resident=resident, code=item.code)
    resident.refresh_from_db()
    assert not resident.is_verified_resident


def test_another_residents_code_does_not_work_on_my_account():
    alice, bob = neighbour(), neighbour()
    alice_letter = printed_letter(alice)
    printed_letter(bob)
    with pytest.raises(CodeWrong):
        services.residency_code_enter(resident=bob, code=alice_letter.code)
    bob.refresh_from_db()
    assert not bob.is_verified_resident


def test_codes_need_a_posted_letter():
    resident = neighbour()
    with pytest.raises(NoLetter):
        services.residency_code_enter(resident=resident, code="ABCD-EFGH")
    services.residency_letter_request(resident=resident, postal_address=ADDRESS)
    with pytest.raises(NoLetter, match="not been posted"):
        services.residency_code_enter(resident=resident, code="ABCD-EFGH")
    with pytest.raises(CodeWrong):
        services.residency_code_enter(resident=resident, code=" - ")


def test_letter_requests_are_checked():
    homeless = ResidentFactory()
    with pytest.raises(LetterRefused, match="home area"):
        services.residency_letter_request(resident=homeless, postal_address=ADDRESS)
    resident = neighbour()
    with pytest.raises(LetterRefused) as exc:
        services.residency_letter_request(resident=resident, postal_address="  ")
    assert exc.value.field == "postal_address"
    with pytest.raises(LetterRefused):
        services.residency_letter_request(resident=resident, postal_address="x" * (rules.ADDRESS_MAX_LENGTH + 1))
    services.residency_letter_request(resident=resident, postal_address=ADDRESS)
    with pytest.raises(LetterRefused, match="already"):
        services.residency_letter_request(resident=resident, postal_address=ADDRESS)
    assert ResidencyLetter.objects.filter(resident=resident).count() == 1
    services.residency_letter_cancel(resident=resident)
    assert ResidencyLetter.objects.get(resident=resident).postal_address == ""
    with pytest.raises(AlreadyVerified):
        services.residency_letter_request(resident=neighbour(verified=True), postal_address=ADDRESS)


def test_reprinting_gives_a_new_code_and_the_old_one_stops_working():
    resident = neighbour()
    mod = moderator()
    first = printed_letter(resident, mod)
    _batch, again = services.residency_letters_print(moderator=mod, letter_ids=[first.letter.pk])
    assert again[0].code != first.code
    with pytest.raises(CodeWrong):
        services.residency_code_enter(resident=resident, code=first.code)
    services.residency_code_enter(resident=resident, code=again[0].code)


def test_only_moderators_print_letters_and_the_pdf_has_a_page_per_resident():
    residents = [neighbour(display_name=name, language=lang) for name, lang in (("李华", "zh-hans"), ("Ann", "en"))]
    ids = [services.residency_letter_request(resident=r, postal_address=ADDRESS).pk for r in residents]
    with pytest.raises(NotAllowed):
        services.residency_letters_print(moderator=neighbour(), letter_ids=ids)
    assert ResidencyLetter.objects.filter(status="requested").count() == 2
    batch, printed = services.residency_letters_print(moderator=moderator(), letter_ids=ids)
    assert batch.size == 2
    pdf = letters_pdf(printed, site_url="https://jiefang.example")
    assert pdf.startswith(b"%PDF")
    assert pages(pdf) == 2
    text = pdf_text(pdf)
    for item in printed:
        assert services.code_display(item.code) in text
    assert "https://jiefang.example" in text
    with pytest.raises(LetterRefused):
        services.residency_letters_print(moderator=moderator(), letter_ids=[])


def test_the_periodic_task_expires_letters_and_erases_addresses():
    resident = neighbour()
    item = printed_letter(resident)
    assert services.residency_letters_expire_due() == 0
    later = timezone.now() + rules.LETTER_VALID_FOR + timedelta(minutes=1)
    assert services.residency_letters_expire_due(now=later) == 1
    assert services.residency_letters_expire_due(now=later) == 0  # idempotent
    letter = ResidencyLetter.objects.get(pk=item.letter.pk)
    assert (letter.status, letter.postal_address) == ("expired", "")


# --- Moderators' decisions ----------------------------------------------------------------------------


def test_a_moderator_verifies_and_revokes_with_a_reason():
    mod, resident = moderator(), neighbour()
    with pytest.raises(ReasonRequired):
        services.residency_decide(moderator=mod, resident=resident, verify=True, reason="  ")
    with pytest.raises(NotAllowed):
        services.residency_decide(moderator=neighbour(), resident=resident, verify=True, reason="I know her")
    resident.refresh_from_db()
    assert not resident.is_verified_resident

    event = services.residency_decide(moderator=mod, resident=resident, verify=True, reason="Met at the fair")
    assert (event.kind, event.actor, event.reason) == ("granted", mod, "Met at the fair")
    resident.refresh_from_db()
    assert resident.is_verified_resident
    with pytest.raises(AlreadyVerified):
        services.residency_decide(moderator=mod, resident=resident, verify=True, reason="again")

    event = services.residency_decide(moderator=mod, resident=resident, verify=False, reason="Moved away")
    assert event.kind == "revoked"
    resident.refresh_from_db()
    assert not resident.is_verified_resident
    assert [e.kind for e in selectors.residency_history(resident=resident)] == ["revoked", "granted"]


def test_verification_cancels_a_letter_on_its_way():
    resident = neighbour()
    services.residency_letter_request(resident=resident, postal_address=ADDRESS)
    services.residency_decide(moderator=moderator(), resident=resident, verify=True, reason="Known")
    letter = ResidencyLetter.objects.get(resident=resident)
    assert (letter.status, letter.postal_address) == ("cancelled", "")
