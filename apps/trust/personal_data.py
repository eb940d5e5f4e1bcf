"""Trust's part of a resident's data.

Erased: residency letters (the postal address), recognitions, vouches given (those they verified
are re-checked), the words of their reviews. Kept, with the account erased: deals and pledge
claims (the other party's record, and what the law asks a market to keep), review stars (the
shop's reputation rests on them), the residency history (an audit trail)."""

from apps.accounts.personal_data import iso

from .models import Deal, PledgeClaim, Recognition, ResidencyLetter, Review, Vouch


def export_for(resident) -> dict:
    deals = Deal.objects.filter(buyer=resident) | Deal.objects.filter(seller=resident)
    return {
        "residency_letters": [
            {"status": le.status, "postal_address": le.postal_address, "requested_at": iso(le.created_at)}
            for le in ResidencyLetter.objects.filter(resident=resident).order_by("created_at")
        ],
        "vouches_given": [
            {"for": v.vouchee_id, "at": iso(v.created_at), "withdrawn_at": iso(v.withdrawn_at)}
            for v in Vouch.objects.filter(voucher=resident).order_by("created_at")
        ],
        "vouches_received": [
            {"from": v.voucher_id, "at": iso(v.created_at), "withdrawn_at": iso(v.withdrawn_at)}
            for v in Vouch.objects.filter(vouchee=resident).order_by("created_at")
        ],
        "recognised": sorted(Recognition.objects.filter(resident=resident).values_list("recognised_id", flat=True)),
        "deals": [
            {
                "id": d.pk,
                "title": d.title,
                "as": "buyer" if d.buyer_id == resident.pk else "seller",
                "price": str(d.price) if d.price is not None else None,
                "status": d.status,
                "at": iso(d.created_at),
            }
            for d in deals.distinct().order_by("created_at")
        ],
        "reviews_written": [
            {"deal": r.deal_id, "stars": r.stars, "text": r.text, "at": iso(r.created_at)}
            for r in Review.objects.filter(author=resident).order_by("created_at")
        ],
        "pledge_claims": [
            {"deal": c.deal_id, "shop": c.shop_id, "text": c.text}
            for c in PledgeClaim.objects.filter(buyer=resident).order_by("pk")
        ],
    }


def erase_for(resident) -> None:
    ResidencyLetter.objects.filter(resident=resident).delete()
    Recognition.objects.filter(resident=resident).delete()
    given = Vouch.objects.filter(voucher=resident)
    vouchees = list(given.values_list("vouchee_id", flat=True))
    given.delete()
    # Those verified by these vouches may no longer reach the threshold.
    from apps.accounts.models import Resident

    from .services import residency_recheck_vouched

    for vouchee in Resident.objects.filter(pk__in=vouchees):
        residency_recheck_vouched(resident=vouchee)
    Review.objects.filter(author=resident).update(text="")
