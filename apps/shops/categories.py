from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """What a shop is, and what a stall offers: one list for both, so filters line up."""

    GROCERIES = "groceries", _("Groceries")
    FRUIT_VEG = "fruit_veg", _("Fruit and vegetables")
    BAKERY = "bakery", _("Bakery")
    RESTAURANT = "restaurant", _("Restaurant")
    REPAIRS = "repairs", _("Repairs")
    HAIR_BEAUTY = "hair_beauty", _("Hair and beauty")
    PHARMACY = "pharmacy", _("Pharmacy")
    SECOND_HAND = "second_hand", _("Second-hand")
    SERVICES = "services", _("Services")
    OTHER = "other", _("Other")
