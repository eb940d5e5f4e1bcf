import pytest
from django.core.cache import cache

from apps.shops import pledges
from tests.market.factories import make_shop, publish
from tests.trust.factories import neighbour


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Chat's rate counters live in the cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seller(db):
    return neighbour(display_name="Wang Fang", verified=True)


@pytest.fixture
def buyer(db):
    return neighbour(display_name="Li Wei", verified=True)


@pytest.fixture
def shop(seller):
    return make_shop(owner=seller, name="Wang's Fruit", pledges=[pledges.RETURNS, pledges.REFUND_NO_RETURN])


@pytest.fixture
def shop_stall(shop):
    return publish(shop=shop, title="Lychees, 1 jin", price="18.00", category="fruit_veg")


@pytest.fixture
def own_stall(seller):
    return publish(seller, title="Bicycle", price="280.00")
