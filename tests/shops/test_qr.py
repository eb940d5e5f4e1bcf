import io

import pytest
import segno
from django.urls import reverse
from PIL import Image, ImageChops, ImageDraw, ImageFont

from apps.shops import pledges, qr, services
from tests.accounts.factories import ResidentFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

try:
    import zxingcpp
except ImportError:  # the decoder is a test aid; without it the matrix round trip below still checks the code
    zxingcpp = None


def decode(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png))
    image.load()
    if zxingcpp is None:
        pytest.skip("zxing-cpp is not installed")
    return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.fixture
def shop():
    shop = ShopFactory(name="静安寺老面馆 Jing'an Noodles")
    services.pledge_take(shop=shop, by=shop.owner, kind=pledges.RETURNS, terms={"days": 7})
    services.pledge_take(shop=shop, by=shop.owner, kind=pledges.FRESHNESS)
    return shop


def test_the_code_holds_the_shop_pages_absolute_url(rf, shop, settings):
    settings.ALLOWED_HOSTS = ["jiefang.test"]
    url = qr.shop_public_url(shop, rf.get("/", HTTP_HOST="jiefang.test"))
    assert url == f"http://jiefang.test/shops/{shop.pk}/?qr=1"
    assert decode(qr.qr_png(url)) == [url]


def test_the_public_url_setting_wins_over_the_request(rf, shop, settings):
    settings.JIEFANG_PUBLIC_URL = "https://jiefang.example.org/"
    assert qr.shop_public_url(shop, rf.get("/")) == f"https://jiefang.example.org/shops/{shop.pk}/?qr=1"


def test_segno_matrix_round_trip(shop):
    """Independent of any decoder: the PNG's pixels are exactly segno's matrix for the URL."""
    url = f"https://jiefang.example.org/shops/{shop.pk}/?qr=1"
    code = segno.make(url, error="m")
    png = Image.open(io.BytesIO(qr.qr_png(url, scale=1))).convert("L")
    expected = [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=4)]
    got = [[png.getpixel((x, y)) < 128 for x in range(png.width)] for y in range(png.height)]
    assert got == expected
    assert code.error in ("M", "Q", "H")  # at least M; segno raises it when the version has room


def test_svg_is_an_svg_of_the_same_code(shop):
    url = f"https://jiefang.example.org/shops/{shop.pk}/?qr=1"
    svg = qr.qr_svg(url, title=shop.name).decode()
    assert svg.startswith("<?xml") and "<svg" in svg and "静安寺老面馆" in svg


def test_pdf_poster_is_an_a4_pdf_with_the_chinese_font(shop):
    pdf = qr.poster_pdf(shop, f"https://jiefang.example.org/shops/{shop.pk}/?qr=1")
    assert pdf.startswith(b"%PDF")
    assert b"STSong-Light" in pdf  # Chinese set in the built-in CID font, no font file needed
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4 in points


def test_png_poster_is_a4_and_its_code_scans(shop):
    url = f"https://jiefang.example.org/shops/{shop.pk}/?qr=1"
    png = qr.poster_png(shop, url)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1240, 1754)
    assert decode(png) == [url]


def test_the_png_font_draws_chinese_glyphs():
    path = qr.cjk_font_path()
    if path is None:
        pytest.skip("no CJK font on this machine (Debian: fonts-noto-cjk)")
    font = qr._png_font(48)

    def draw(text):
        image = Image.new("L", (120, 80), 255)
        ImageDraw.Draw(image).text((10, 10), text, font=font, fill=0)
        return image

    jie, fang, missing = draw("街"), draw("坊"), draw("\U000f0000")  # a private-use point: the font's blank box
    assert ImageChops.difference(jie, fang).getbbox() is not None
    assert ImageChops.difference(jie, missing).getbbox() is not None
    assert isinstance(font, ImageFont.FreeTypeFont)


def test_long_names_wrap_rather_than_overflow():
    lines = qr._wrap("很长的店名" * 10, lambda t: len(t) * 10.0, 100)
    assert len(lines) == 5 and all(len(line) * 10 <= 100 for line in lines)
    words = qr._wrap("Jing'an Temple Fresh Fruit and Vegetables", lambda t: len(t) * 10.0, 150)
    assert all(len(line) <= 15 for line in words) and " ".join(words).replace("  ", " ").startswith("Jing'an")


def test_downloads_are_for_the_owner(client, shop):
    client.force_login(shop.owner)
    for kind, content_type, magic in [
        ("qr.png", "image/png", b"\x89PNG"),
        ("qr.svg", "image/svg+xml", b"<?xml"),
        ("poster.pdf", "application/pdf", b"%PDF"),
        ("poster.png", "image/png", b"\x89PNG"),
    ]:
        resp = client.get(reverse("shops:qr", args=[shop.pk, kind]))
        assert resp.status_code == 200, kind
        assert resp["Content-Type"] == content_type
        assert resp.content.startswith(magic)
    png = client.get(reverse("shops:qr", args=[shop.pk, "qr.png"])).content
    assert decode(png) == [f"http://testserver/shops/{shop.pk}/?qr=1"]
    client.force_login(ResidentFactory())
    assert client.get(reverse("shops:qr", args=[shop.pk, "qr.png"])).status_code == 403
    client.logout()
    assert client.get(reverse("shops:qr", args=[shop.pk, "poster.pdf"])).status_code == 302
