"""The e-mails of moderation decisions, rendered in the recipient's language (plain text)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from . import notify, selectors
from .models import Appeal, Decision


def _site_url(path: str) -> str:
    return settings.JIEFANG_SITE_URL.rstrip("/") + path


def _send(recipient, template: str, context: dict, *, always: bool = False) -> None:
    from apps.notifications.kinds import Kind
    from apps.notifications.services import email_wanted

    # The resident's e-mail preferences decide (notifications' "moderation decisions" switch),
    # unless the account is closed: then e-mail is the only way left to hear of it and appeal.
    if not recipient.email:
        return
    if not always and not email_wanted(resident_id=recipient.pk, kind=Kind.MODERATION):
        return
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        context = {"recipient": recipient, **context}
        subject = render_to_string(f"moderation/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"moderation/email/{template}.txt", context)
    send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [recipient.email])


def decision_email(decision: Decision) -> None:
    recipient = decision.subject
    if recipient is None:
        return
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        context = {
            "decision": decision,
            "subject_text": notify.subject_phrase(decision),
            "decision_text": notify.decision_phrase(decision),
            "decisions_url": _site_url(reverse("moderation:decisions")),
            "appeal_url": _site_url(reverse("moderation:appeal_by_link", args=[notify.appeal_token(decision)]))
            if selectors.decision_is_appealable(decision)
            else "",
        }
    _send(recipient, "decision", context, always=decision.action == Decision.Action.BAN)


def appeal_email(appeal: Appeal) -> None:
    recipient = appeal.appellant
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        context = {
            "appeal": appeal,
            "subject_text": notify.subject_phrase(appeal.decision),
            "decision_text": notify.appeal_phrase(appeal),
            "decisions_url": _site_url(reverse("moderation:decisions")),
        }
    _send(recipient, "appeal", context)
