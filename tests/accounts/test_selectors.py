import pytest

from apps.accounts.selectors import residents_nearby, snap_near_me_now
from apps.nearby import geo
from tests.accounts.factories import JINGAN, ResidentFactory

pytestmark = pytest.mark.django_db


def test_residents_nearby_by_home_area():
    me = ResidentFactory(home=JINGAN)
    close = ResidentFactory(home=geo.Point(JINGAN.lat + 0.004, JINGAN.lng))  # ~450 m north
    ResidentFactory(home=geo.Point(JINGAN.lat + 0.05, JINGAN.lng))  # ~5.5 km away
    ResidentFactory()  # no home yet
    found = list(residents_nearby(origin=me.point, radius_m=1000, exclude=me))
    assert found == [close]


def test_near_me_now_is_snapped():
    p = snap_near_me_now(lat=31.21551234, lng=121.45661234)
    assert p == geo.cell_center(geo.cell_of(31.21551234, 121.45661234, 10))
