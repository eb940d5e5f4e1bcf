import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.shops import services
from apps.shops.categories import Category
from apps.shops.models import Shop
from tests.accounts.factories import JINGAN, ResidentFactory


def image_upload(name: str = "shop.jpg", *, size=(64, 48), color=(200, 80, 40), fmt: str = "JPEG"):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type=f"image/{fmt.lower()}")


class ShopFactory(factory.Factory):
    """Shops are registered through the real service, so every test shop passed its rules."""

    class Meta:
        model = Shop

    owner = factory.SubFactory(ResidentFactory)
    name = factory.Sequence(lambda n: f"Corner shop {n}")
    category = Category.GROCERIES
    lat = JINGAN.lat
    lng = JINGAN.lng
    description = "Fresh every morning."
    address = "1 Yuyuan Road"
    time_zone = "Asia/Shanghai"
    licence_number = factory.Sequence(lambda n: f"91310106MA{n:08d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.shop_register(**kwargs)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("shops exist only once registered: use ShopFactory() or ShopFactory.create()")


def make_moderator(**kwargs):
    from django.contrib.auth.models import Permission

    from apps.moderation.areas import area_of_point
    from apps.moderation.models import ModeratorArea

    moderator = ResidentFactory(is_staff=True, **kwargs)
    moderator.user_permissions.add(Permission.objects.get(codename="verify_shop", content_type__app_label="shops"))
    # Moderators see and act on their areas only: this one looks after Jing'an, where test shops are.
    ModeratorArea.objects.create(moderator=moderator, cell=area_of_point(JINGAN.lat, JINGAN.lng))
    # has_perm caches permissions on the instance; a fresh one sees the grant.
    return type(moderator).objects.get(pk=moderator.pk)
