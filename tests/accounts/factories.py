import factory

from apps.accounts.models import Resident
from apps.nearby import geo

# Jing'an, Shanghai: the demo district, and a sensible place for test neighbours.
JINGAN = geo.Point(31.2155, 121.4566)

TEST_PASSWORD = "neighbour-pass-2026"


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"resident{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    display_name = factory.Sequence(lambda n: f"Neighbour {n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def home(obj, create, extracted, **kwargs):
        """`ResidentFactory(home=point)` places the home through the real service; default: none."""
        if not create:
            return
        obj.save()  # keeps the password hash set above
        if extracted is not None:
            from apps.accounts.services import resident_home_set

            resident_home_set(resident=obj, lat=extracted.lat, lng=extracted.lng)
