"""The e-mails themselves: the digest and the immediate notification, each as an HTML and a plain
text part in the resident's language, with a signed one-click unsubscribe link and header."""

from __future__ import annotations

import re
from email.generator import Generator
from email.policy import Compat32

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .digest import Digest, absolute_url
from .models import EMAIL_PREFERENCE_OF_KIND, EmailDelivery, Notification

UNSUBSCRIBE_SALT = "jiefang.notifications.unsubscribe"
# What an unsubscribe link can turn off: the digest, or one kind of immediate e-mail.
UNSUBSCRIBE_SCOPES = ("digest", *EMAIL_PREFERENCE_OF_KIND.values())


class _QuickFold(Compat32):
    """The policy Django's messages are written with (compat32), minus its cost for the common
    header: a short value of printable ASCII words, which compat32 folds to itself (a `Header`
    built, split and joined again for each of a message's dozen headers). Anything else goes to
    compat32 itself; tests/notifications/test_emails.py holds the two to the same output."""

    def _fold(self, name, value, sanitize):
        if (
            isinstance(value, str)
            and self.max_line_length
            and len(name) + 2 + len(value) <= self.max_line_length
            and _PLAIN_HEADER.fullmatch(value)
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_PLAIN_HEADER = re.compile(r"[!-~]+(?: [!-~]+)*")
QUICK_FOLD = _QuickFold()


def _boundary(*texts: str) -> str:
    """A multipart boundary as the email generator makes one, chosen before writing: left to the
    generator, it is checked with a regular expression compiled for each message. Refused if it
    occurs anywhere in the texts (the generator only refuses it at the start of a line)."""
    while True:
        boundary = Generator._make_boundary()
        if not any(boundary in text for text in texts):
            return boundary


class Email(EmailMultiAlternatives):
    """Django's message, written out byte for byte as Django writes it but for the random
    boundary, only cheaper (about 0.2 ms of a digest's CPU: docs/benchmarks.md)."""

    def message(self):
        msg = super().message()
        msg.policy = QUICK_FOLD
        if msg.is_multipart():
            msg.set_boundary(_boundary(self.body, *(str(a[0]) for a in self.alternatives)))
        return msg


def unsubscribe_token(*, resident_id: int, scope: str) -> str:
    """A signed, login-free token for one resident and one kind of e-mail. It does not expire: an
    old e-mail's link must still work, and all it can ever do is turn e-mail off."""
    if scope not in UNSUBSCRIBE_SCOPES:
        raise ValueError(f"unknown unsubscribe scope {scope!r}")
    return signing.dumps({"r": resident_id, "s": scope}, salt=UNSUBSCRIBE_SALT, compress=False)


def unsubscribe_url(*, resident_id: int, scope: str) -> str:
    token = unsubscribe_token(resident_id=resident_id, scope=scope)
    return absolute_url(reverse("notifications:unsubscribe", args=[token]))


def _domain() -> str:
    address = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1]
    return address.strip(" >") or "jiefang.local"


def message_id_for(delivery: EmailDelivery) -> str:
    """Deterministic: a resend of the same delivery carries the same Message-ID, which lets mail
    systems that de-duplicate on it fold the copies together (see docs/digest.md)."""
    return f"<jiefang.{delivery.kind}.{delivery.pk}.{delivery.period}@{_domain()}>"


def _headers(*, delivery: EmailDelivery, link: str) -> dict:
    """The same unsubscribe link as the body's (a token is signed with the time: one per e-mail)."""
    return {
        "Message-ID": message_id_for(delivery),
        "List-Unsubscribe": f"<{link}>",
        # RFC 8058: mail clients may unsubscribe with one POST, without the reader opening a page.
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }


def _digest_subject(digest: Digest) -> str:
    news = len(digest.stalls) + len(digest.followed)
    if news:
        more = "+" if digest.more_stalls else ""
        return ngettext(
            "Jiefang: %(count)s%(more)s new stall near you",
            "Jiefang: %(count)s%(more)s new stalls near you",
            news,
        ) % {"count": news, "more": more}
    return _("Jiefang: news from your neighbourhood")


# Stand-ins for what an otherwise shared digest leaves open: the greeting's name, the unsubscribe
# link, the area's sections and the resident's own ones (followed shops, unread messages).
# Characters that HTML escaping leaves alone, so they survive rendering as they are.
NAME_MARK = "@@jiefang-name@@"
UNSUBSCRIBE_MARK = "@@jiefang-unsubscribe@@"
AREA_MARK = "@@jiefang-area@@"
PERSONAL_MARK = "@@jiefang-personal@@"
_SLOTS = re.compile("(" + "|".join(re.escape(m) for m in (NAME_MARK, UNSUBSCRIBE_MARK, AREA_MARK, PERSONAL_MARK)) + ")")


class _Anyone:
    display_name = NAME_MARK


def _render_pair(name: str, context: dict) -> tuple[str, str]:
    """(HTML, text) of one of the digest's sections."""
    return (
        render_to_string(f"notifications/email/{name}.html", context),
        render_to_string(f"notifications/email/{name}.txt", context),
    )


def _render(context: dict) -> tuple[str, str, str]:
    """The whole digest for one resident, every template rendered for them alone: the reference
    that the shared rendering below must equal (tests/notifications/test_digest.py)."""
    context["area_html"], context["area_text"] = _render_pair("_area", context)
    context["personal_html"], context["personal_text"] = _render_pair("_personal", context)
    subject = _digest_subject(context["digest"])
    text = render_to_string("notifications/email/digest.txt", context)
    html = render_to_string("notifications/email/digest.html", context)
    return subject, text, html


def _area_parts(digest: Digest, context: dict, fragments: dict) -> tuple[str, str]:
    """The area's sections, rendered once per (area, window, language) for every neighbour whose
    digest shows them unchanged."""
    if not digest.is_area_shared:
        return _render_pair("_area", context)
    key = ("area", digest.area_key, context["LANGUAGE_CODE"])
    if key not in fragments:
        fragments[key] = _render_pair("_area", context)
    return fragments[key]


def _personal_parts(digest: Digest, context: dict, fragments: dict) -> tuple[str, str]:
    """Stalls from followed shops and the unread messages: rendered for the resident when they have
    any, else the same empty sections for everyone."""
    if digest.followed or digest.unread_messages:
        return _render_pair("_personal", context)
    key = ("no-personal", context["LANGUAGE_CODE"])
    if key not in fragments:
        fragments[key] = _render_pair("_personal", context)
    return fragments[key]


def _frame(digest: Digest, context: dict, time_zone: str, fragments: dict) -> tuple[list[str], list[str]]:
    """The digest around its sections (greeting, window, buttons, footer), rendered once per
    (language, time zone, window start) with stand-ins, and split at them: [text, mark, text, ...]."""
    key = ("frame", context["LANGUAGE_CODE"], time_zone, digest.since)
    if key not in fragments:
        stand_ins = {
            "resident": _Anyone,
            "unsubscribe_url": UNSUBSCRIBE_MARK,
            "area_html": AREA_MARK,
            "area_text": AREA_MARK,
            "personal_html": PERSONAL_MARK,
            "personal_text": PERSONAL_MARK,
        }
        frame = {**context, **stand_ins}
        text = render_to_string("notifications/email/digest.txt", frame)
        html = render_to_string("notifications/email/digest.html", frame)
        fragments[key] = (_SLOTS.split(text), _SLOTS.split(html))
    return fragments[key]


def _fill(frame: list[str], values: dict[str, str]) -> str:
    # Only the frame's own marks are replaced, in one pass: text put in is never searched again,
    # so a stall title or a name that happens to contain a mark stays as it is.
    return "".join(values[part] if i % 2 else part for i, part in enumerate(frame))


def _digest_parts(digest: Digest, context: dict, time_zone: str, fragments: dict | None) -> tuple[str, str, str]:
    """(subject, text, html). With a batch's `fragments`, what neighbours share is rendered once:
    the frame per language, time zone and window, the area's sections per area and language, and
    the empty personal sections per language; each e-mail is the frame with its resident's name,
    unsubscribe link and sections put in (the name and link HTML-escaped in the HTML, as the
    template does). Without `fragments`, every template is rendered for this resident alone."""
    if fragments is None:
        return _render(context)
    if len(fragments) > 1024:
        fragments.clear()
    area_html, area_text = _area_parts(digest, context, fragments)
    personal_html, personal_text = _personal_parts(digest, context, fragments)
    text_frame, html_frame = _frame(digest, context, time_zone, fragments)
    name, link = context["resident"].display_name, context["unsubscribe_url"]
    text = _fill(
        text_frame, {NAME_MARK: name, UNSUBSCRIBE_MARK: link, AREA_MARK: area_text, PERSONAL_MARK: personal_text}
    )
    html = _fill(
        html_frame,
        {NAME_MARK: escape(name), UNSUBSCRIBE_MARK: escape(link), AREA_MARK: area_html, PERSONAL_MARK: personal_html},
    )
    return _digest_subject(digest), text, html


def digest_message(*, digest: Digest, delivery: EmailDelivery, time_zone: str, fragments: dict | None = None) -> Email:
    resident = digest.resident
    with translation.override(resident.language), timezone.override(time_zone):
        link = unsubscribe_url(resident_id=resident.pk, scope="digest")
        context = {
            "digest": digest,
            "resident": resident,
            "feed_url": absolute_url(reverse("home")),
            "preferences_url": absolute_url(reverse("notifications:preferences")),
            "unsubscribe_url": link,
            "LANGUAGE_CODE": resident.language,
        }
        subject, text, html = _digest_parts(digest, context, time_zone, fragments)
    message = Email(
        subject=subject,
        body=text,
        to=[resident.email],
        headers=_headers(delivery=delivery, link=link),
    )
    message.attach_alternative(html, "text/html")
    return message


def notification_message(*, notification: Notification, delivery: EmailDelivery) -> Email:
    resident = notification.recipient
    scope = EMAIL_PREFERENCE_OF_KIND[notification.kind]
    with translation.override(resident.language):
        link = unsubscribe_url(resident_id=resident.pk, scope=scope)
        context = {
            "notification": notification,
            "text": notification.text,
            "resident": resident,
            "open_url": absolute_url(notification.url or reverse("notifications:list")),
            "preferences_url": absolute_url(reverse("notifications:preferences")),
            "unsubscribe_url": link,
            "LANGUAGE_CODE": resident.language,
        }
        subject = _("Jiefang: %(what)s") % {"what": notification.get_kind_display()}
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    message = Email(subject=subject, body=text, to=[resident.email], headers=_headers(delivery=delivery, link=link))
    message.attach_alternative(html, "text/html")
    return message
