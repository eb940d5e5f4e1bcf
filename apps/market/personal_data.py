"""The market's part of a resident's data: the stalls they posted (public content, removed on erasure)."""

from apps.accounts.personal_data import delete_files_on_commit, file_url, iso

from .models import Stall, StallPhoto


def export_for(resident) -> dict:
    stalls = Stall.objects.filter(seller=resident).prefetch_related("photos").order_by("created_at")
    return {
        "stalls": [
            {
                "id": s.pk,
                "kind": s.kind,
                "title": s.title,
                "description": s.description,
                "price": str(s.price) if s.price is not None else None,
                "status": s.status,
                "shop": s.shop_id,
                "created_at": iso(s.created_at),
                "photos": [file_url(p.image) for p in s.photos.all()],
            }
            for s in stalls
        ]
    }


def erase_for(resident) -> None:
    # A shop's stalls stay with the shop; the resident's own are removed, photos with them. Deals
    # about a removed stall keep their title (trust: the stall link becomes empty).
    own = Stall.objects.filter(seller=resident, shop__isnull=True)
    delete_files_on_commit(*StallPhoto.objects.filter(stall__in=own).values_list("image", flat=True))
    own.delete()
