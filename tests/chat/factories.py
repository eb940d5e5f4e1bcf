"""Shops and stalls for chat tests. The shops and market apps own their real services; chat only
needs rows to talk about, placed as their models place them."""

from datetime import timedelta

import factory
from django.utils import timezone

from apps.market.models import Stall
from apps.shops.models import Shop
from tests.accounts.factories import JINGAN, ResidentFactory


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        skip_postgeneration_save = True

    owner = factory.SubFactory(ResidentFactory)
    name = factory.Sequence(lambda n: f"Corner shop {n}")
    category = "groceries"
    is_verified = True

    @factory.post_generation
    def place(obj, create, extracted, **kwargs):
        obj.place_at(extracted or JINGAN)
        if create:
            obj.save()


class StallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stall
        skip_postgeneration_save = True

    seller = factory.SubFactory(ResidentFactory)
    kind = Stall.Kind.SALE
    title = factory.Sequence(lambda n: f"Bicycle {n}")
    price = 100
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))

    @factory.post_generation
    def place(obj, create, extracted, **kwargs):
        obj.place_at(JINGAN)
        if create:
            obj.save()
