"""The e-mails themselves: the digest and the immediate notification, each as an HTML and a plain
text part in the resident's language, with a signed one-click unsubscribe link and header."""

from __future__ import annotations

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


def _headers(*, delivery: EmailDelivery, scope: str) -> dict:
    link = unsubscribe_url(resident_id=delivery.resident_id, scope=scope)
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


# Stand-ins for what is personal in an otherwise shared digest: the greeting's name and the
# unsubscribe link. Characters that HTML escaping leaves alone, so they survive rendering as is.
NAME_MARK = "@@jiefang-name@@"
UNSUBSCRIBE_MARK = "@@jiefang-unsubscribe@@"


class _Anyone:
    display_name = NAME_MARK


def _render(context: dict) -> tuple[str, str, str]:
    subject = _digest_subject(context["digest"])
    text = render_to_string("notifications/email/digest.txt", context)
    html = render_to_string("notifications/email/digest.html", context)
    return subject, text, html


def _area_parts(digest: Digest, context: dict, fragments: dict | None) -> tuple[str, str]:
    """The area's sections, rendered once per (area, window, language) for every neighbour whose
    digest shows them unchanged (`fragments` is the batch's cache)."""
    key = ("area", digest.area_key, context["LANGUAGE_CODE"]) if digest.is_area_shared else None
    if fragments is not None and key is not None and key in fragments:
        return fragments[key]
    parts = (
        render_to_string("notifications/email/_area.html", context),
        render_to_string("notifications/email/_area.txt", context),
    )
    if fragments is not None and key is not None:
        fragments[key] = parts
    return parts


def _digest_parts(digest: Digest, context: dict, time_zone: str, fragments: dict | None) -> tuple[str, str, str]:
    """(subject, text, html). Neighbours whose digest is only their area's news (no followed shops'
    stalls, no unread messages) get the same e-mail but for their name and unsubscribe link: it is
    rendered once with stand-ins, and each copy puts its own in (HTML-escaped in the HTML part)."""
    if fragments is not None and len(fragments) > 1024:
        fragments.clear()
    context["area_html"], context["area_text"] = _area_parts(digest, context, fragments)
    if fragments is None or not digest.is_area_shared or digest.followed or digest.unread_messages:
        return _render(context)
    key = ("whole", digest.area_key, context["LANGUAGE_CODE"], time_zone)
    if key not in fragments:
        fragments[key] = _render({**context, "resident": _Anyone, "unsubscribe_url": UNSUBSCRIBE_MARK})
    subject, text, html = fragments[key]
    name, link = context["resident"].display_name, context["unsubscribe_url"]
    text = text.replace(NAME_MARK, name).replace(UNSUBSCRIBE_MARK, link)
    html = html.replace(NAME_MARK, escape(name)).replace(UNSUBSCRIBE_MARK, escape(link))
    return subject, text, html


def digest_message(
    *, digest: Digest, delivery: EmailDelivery, time_zone: str, fragments: dict | None = None
) -> EmailMultiAlternatives:
    resident = digest.resident
    with translation.override(resident.language), timezone.override(time_zone):
        context = {
            "digest": digest,
            "resident": resident,
            "feed_url": absolute_url(reverse("home")),
            "preferences_url": absolute_url(reverse("notifications:preferences")),
            "unsubscribe_url": unsubscribe_url(resident_id=resident.pk, scope="digest"),
            "LANGUAGE_CODE": resident.language,
        }
        subject, text, html = _digest_parts(digest, context, time_zone, fragments)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[resident.email],
        headers=_headers(delivery=delivery, scope="digest"),
    )
    message.attach_alternative(html, "text/html")
    return message


def notification_message(*, notification: Notification, delivery: EmailDelivery) -> EmailMultiAlternatives:
    resident = notification.recipient
    scope = EMAIL_PREFERENCE_OF_KIND[notification.kind]
    with translation.override(resident.language):
        context = {
            "notification": notification,
            "text": notification.text,
            "resident": resident,
            "open_url": absolute_url(notification.url or reverse("notifications:list")),
            "preferences_url": absolute_url(reverse("notifications:preferences")),
            "unsubscribe_url": unsubscribe_url(resident_id=resident.pk, scope=scope),
            "LANGUAGE_CODE": resident.language,
        }
        subject = _("Jiefang: %(what)s") % {"what": notification.get_kind_display()}
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=[resident.email], headers=_headers(delivery=delivery, scope=scope)
    )
    message.attach_alternative(html, "text/html")
    return message
