"""Telling the people a decision affects: in-app, and by e-mail after the transaction commits.

Texts are built in the recipient's language: the in-app notification stores them as its params,
the e-mail renders templates/moderation/email/ in that language.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from apps.core.outbox import task_queue_on_commit
from apps.notifications.kinds import Kind
from apps.notifications.services import notification_send

from . import rules
from .models import Appeal, Decision

APPEAL_LINK_SALT = "moderation.appeal"


def appeal_token(decision: Decision) -> str:
    """A signed link to appeal without logging in: a banned resident cannot log in to appeal."""
    return signing.dumps({"d": decision.pk, "s": decision.subject_id}, salt=APPEAL_LINK_SALT)


def appeal_token_read(token: str) -> tuple[int, int]:
    """(decision id, subject id); raises signing.BadSignature (or SignatureExpired) when forged or old."""
    data = signing.loads(token, salt=APPEAL_LINK_SALT, max_age=rules.APPEAL_WINDOW)
    return int(data["d"]), int(data["s"])


def _date(moment) -> str:
    return formats.date_format(moment, "DATE_FORMAT") if moment else ""


def subject_phrase(decision: Decision) -> str:
    case = decision.case
    kind = case.kind if case else ("shop" if decision.shop_id else "resident")
    title = case.title if case else (decision.shop.name if decision.shop_id else "")
    if kind == "stall":
        return _("your stall “%(title)s”") % {"title": title}
    if kind == "shop" or (decision.shop_id and decision.action in (Decision.Action.POINTS, Decision.Action.SUSPEND)):
        name = decision.shop.name if decision.shop_id else title
        return _("your shop “%(title)s”") % {"title": name}
    if kind == "message":
        return _("your message “%(title)s”") % {"title": title}
    if kind == "review":
        return _("your review “%(title)s”") % {"title": title}
    return _("your account")


def decision_phrase(decision: Decision) -> str:
    from .selectors import decision_appeal_deadline, decision_is_appealable

    reason = decision.reason
    A = Decision.Action
    if decision.action == A.AUTO_HIDE:
        text = _(
            "it is hidden pending review, after reports from neighbours (%(reason)s). A moderator will "
            "look at it soon; if they confirm it, you can appeal their decision within 14 days from "
            "your moderation page."
        ) % {"reason": reason}
    elif decision.action == A.DISMISS:
        text = _("the reports were dismissed and it is shown again.")
    elif decision.action == A.RESTORE:
        text = _("it is shown again. %(reason)s") % {"reason": reason}
    elif decision.action == A.HIDE:
        text = _("hidden by a moderator: %(reason)s") % {"reason": reason}
    elif decision.action == A.WARN:
        text = _("a warning: %(reason)s") % {"reason": reason}
    elif decision.action == A.POINTS:
        text = _("%(points)d penalty points (%(tier)s): %(reason)s") % {
            "points": decision.points,
            "tier": rules.PENALTY_TIERS[decision.tier][1] if decision.tier in rules.PENALTY_TIERS else "",
            "reason": reason,
        }
    elif decision.action == A.SUSPEND:
        text = _("suspended until %(date)s: %(reason)s") % {"date": _date(decision.until), "reason": reason}
    else:
        text = _("the account is closed: %(reason)s") % {"reason": reason}
    if decision_is_appealable(decision):
        text += " " + _("You can appeal once, until %(date)s.") % {"date": _date(decision_appeal_deadline(decision))}
    return text


def appeal_phrase(appeal: Appeal) -> str:
    if appeal.status == Appeal.Status.GRANTED:
        return _("your appeal was granted and the decision is revoked. %(answer)s") % {"answer": appeal.answer}
    return _("your appeal was refused and the decision stands: %(answer)s") % {"answer": appeal.answer}


def _language(resident) -> str:
    return resident.language or settings.LANGUAGE_CODE


def decision_notify(decision: Decision) -> None:
    """In-app now (in the same transaction), e-mail once committed."""
    recipient = decision.subject
    if recipient is None:
        return
    with translation.override(_language(recipient)):
        notification_send(
            recipient_id=recipient.pk,
            kind=Kind.MODERATION,
            params={"subject": subject_phrase(decision), "decision": decision_phrase(decision)},
            url=reverse("moderation:decisions"),
            email=False,  # moderation's own e-mail below carries the reasons and the appeal link
        )
    from .tasks import decision_email_send

    decision_id = decision.pk
    task_queue_on_commit(decision_email_send, decision_id)


def appeal_notify(appeal: Appeal) -> None:
    recipient = appeal.appellant
    with translation.override(_language(recipient)):
        notification_send(
            recipient_id=recipient.pk,
            kind=Kind.MODERATION,
            params={"subject": subject_phrase(appeal.decision), "decision": appeal_phrase(appeal)},
            url=reverse("moderation:decisions"),
            email=False,  # moderation's own e-mail below carries the reasons and the appeal link
        )
    from .tasks import appeal_email_send

    appeal_id = appeal.pk
    task_queue_on_commit(appeal_email_send, appeal_id)
