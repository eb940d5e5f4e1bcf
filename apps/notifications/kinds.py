"""What a notification can say. Texts are rendered when shown, in the reader's language."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    MESSAGE = "message", _("New message")
    STALL_FROM_FOLLOWED_SHOP = "followed_shop_stall", _("New stall from a shop you follow")
    VOUCH = "vouch", _("Vouch received")
    DEAL = "deal", _("Deal to confirm")
    REVIEW = "review", _("Review received")
    PLEDGE_CLAIM = "pledge_claim", _("Pledge claim")
    MODERATION = "moderation", _("Moderation decision")
    RESIDENCY = "residency", _("Residency verified")


# One sentence per kind; %(name)s-style parameters come from the notification's params.
TEXTS = {
    Kind.MESSAGE: _("%(sender)s sent you a message: %(preview)s"),
    Kind.STALL_FROM_FOLLOWED_SHOP: _("%(shop)s has a new stall: %(title)s"),
    Kind.VOUCH: _("%(voucher)s vouched for you."),
    Kind.DEAL: _("%(seller)s marked a deal with you on “%(title)s”. Please confirm it."),
    Kind.REVIEW: _("%(author)s reviewed you: %(stars)s stars."),
    Kind.PLEDGE_CLAIM: _("A pledge claim on “%(title)s” needs your answer."),
    Kind.MODERATION: _("A moderator decided on %(subject)s: %(decision)s"),
    Kind.RESIDENCY: _("Your residency is verified. Welcome, neighbour!"),
}
