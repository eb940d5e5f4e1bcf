"""Shops' part of a resident's data: shops they run or help at, shops they follow."""

from django.utils.translation import gettext as _

from apps.accounts.personal_data import iso
from apps.core.errors import DomainError

from .models import Shop, ShopFollow


class OwnsShops(DomainError):
    code = "owns_shops"
    status_code = 409


def export_for(resident) -> dict:
    return {
        "shops_owned": [{"id": s.pk, "name": s.name} for s in Shop.objects.filter(owner=resident).order_by("pk")],
        "shops_helped": [{"id": s.pk, "name": s.name} for s in resident.staffed_shops.order_by("pk")],
        "follows": [
            {"shop": f.shop_id, "name": f.shop.name, "since": iso(f.created_at)}
            for f in ShopFollow.objects.filter(resident=resident).select_related("shop").order_by("created_at")
        ],
    }


def erase_for(resident) -> None:
    # A shop is a business with its own public record, customers' deals and claims: it is handed over
    # or closed by its owner first, never erased with a person.
    if Shop.objects.filter(owner=resident).exists():
        raise OwnsShops(_("You own a shop: hand it over to someone or close it before deleting your account."))
    ShopFollow.objects.filter(resident=resident).delete()
    resident.staffed_shops.clear()
