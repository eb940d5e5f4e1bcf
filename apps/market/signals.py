"""Side concern only (STYLE.md 8): a saved or deleted stall, stall photo, shop, pledge or seller's
name marks the areas of the stalls whose cards show it, so shared feed cards are rebuilt
(apps/market/card_cache.py). Bulk updates in the services mark their stalls themselves."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.accounts.models import Resident
from apps.shops.models import Shop, ShopPledge

from . import card_cache
from .models import Stall, StallPhoto


@receiver(post_save, sender=Stall, dispatch_uid="market-cards-stall-saved")
@receiver(post_delete, sender=Stall, dispatch_uid="market-cards-stall-deleted")
def _stall_changed(sender, instance, **kwargs):
    card_cache.stalls_touch([instance])


@receiver(post_save, sender=StallPhoto, dispatch_uid="market-cards-photo-saved")
@receiver(post_delete, sender=StallPhoto, dispatch_uid="market-cards-photo-deleted")
def _stall_photo_changed(sender, instance, **kwargs):
    card_cache.stalls_touch(Stall.objects.filter(pk=instance.stall_id))


@receiver(post_save, sender=Shop, dispatch_uid="market-cards-shop-saved")
def _shop_changed(sender, instance, **kwargs):
    card_cache.shop_touch(instance.pk)


@receiver(post_save, sender=ShopPledge, dispatch_uid="market-cards-pledge-saved")
@receiver(post_delete, sender=ShopPledge, dispatch_uid="market-cards-pledge-deleted")
def _pledge_changed(sender, instance, **kwargs):
    card_cache.shop_touch(instance.shop_id)


@receiver(post_save, sender=Resident, dispatch_uid="market-cards-resident-saved")
def _seller_renamed(sender, instance, update_fields=None, **kwargs):
    # residents are saved for many reasons (a log-in stamps last_login); only the name is on a card
    if update_fields is not None and "display_name" not in update_fields:
        return
    stalls = Stall.objects.filter(seller_id=instance.pk, shop__isnull=True, status=Stall.Status.OPEN)
    card_cache.stalls_touch(stalls)
