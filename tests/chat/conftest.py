import pytest
from channels.layers import channel_layers
from django.core.cache import cache

from apps.chat import services
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.chat.factories import ShopFactory


@pytest.fixture(autouse=True)
def _fresh_cache_and_layer():
    """Rate counters and presence live in the cache; the in-memory layer keeps groups per process."""
    cache.clear()
    channel_layers.backends.clear()
    yield
    cache.clear()
    channel_layers.backends.clear()


@pytest.fixture
def in_memory_layer(settings):
    """For tests that look inside the layer from several event loops: the in-memory layer allows it
    (the Redis pub/sub layer keeps one connection per loop); the consumer tests run on either."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()


@pytest.fixture
def alice(db):
    return ResidentFactory(home=JINGAN, display_name="Alice")


@pytest.fixture
def bob(db):
    return ResidentFactory(home=JINGAN, display_name="Bob")


@pytest.fixture
def direct(alice, bob):
    return services.conversation_open(resident=alice, other=bob)


@pytest.fixture
def shop(db):
    return ShopFactory()


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (24, 16), "orange").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def png_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("p.png", png_bytes(), "image/png")
