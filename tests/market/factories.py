import io
import itertools

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.market import services
from apps.nearby import geo
from apps.shops import pledges as pledge_catalogue
from apps.shops.models import Shop, ShopPledge
from tests.accounts.factories import JINGAN, ResidentFactory

_counter = itertools.count()


def photo(color="orange", name="p.jpg") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, format="JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), "image/jpeg")


def make_shop(*, owner=None, at: geo.Point = JINGAN, verified=False, pledges=(), **fields) -> Shop:
    """A shop placed at its exact point (the shops app's own factory covers registration rules)."""
    owner = owner or ResidentFactory(home=at)
    shop = Shop(owner=owner, name=fields.pop("name", f"Shop {next(_counter)}"), category="groceries", **fields)
    shop.place_at(at)
    shop.is_verified = verified
    shop.save()
    for kind in pledges:
        ShopPledge.objects.create(shop=shop, kind=kind, terms=pledge_catalogue.kind_get(kind).default_terms())
    return shop


def publish(seller=None, *, shop=None, **fields):
    seller = seller or (shop.owner if shop else ResidentFactory(home=JINGAN))
    data = {"kind": "sale", "title": f"Thing {next(_counter)}", "price": "10.00", "category": "other"}
    data.update(fields)
    if data["kind"] in ("free",):
        data["price"] = None
    return services.stall_publish(seller=seller, shop=shop, **data)
