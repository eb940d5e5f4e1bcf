"""QR codes for a shop's counter: a plain code (PNG, SVG) and a printable A4 poster (PDF, PNG).

The code holds the absolute URL of the shop's public page; segno makes it. The PDF is drawn with
reportlab, whose built-in CID font STSong-Light sets Chinese without shipping a font file (PDF
readers supply the glyphs). The PNG poster is drawn with Pillow and needs a CJK font on the
machine (Debian: fonts-noto-cjk); JIEFANG_CJK_FONT names one explicitly.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .categories import Category
from .models import Shop
from .selectors import pledge_badges

log = logging.getLogger(__name__)

CID_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
ACCENT = (0xC2, 0x41, 0x0C)

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def shop_public_url(shop: Shop, request=None) -> str:
    """The absolute address the QR code opens: the shop page, marked as reached by QR.

    JIEFANG_PUBLIC_URL wins when set (behind a proxy the request may not know the public host)."""
    path = reverse("shops:detail", args=[shop.pk]) + "?qr=1"
    base = getattr(settings, "JIEFANG_PUBLIC_URL", "")
    if base:
        return base.rstrip("/") + path
    if request is None:
        raise ValueError("an absolute URL needs the request or JIEFANG_PUBLIC_URL")
    return request.build_absolute_uri(path)


def qr_code(url: str) -> segno.QRCode:
    # Level M survives a scuffed or partly covered counter sticker and stays small for a URL.
    return segno.make(url, error="m", micro=False)


def qr_png(url: str, *, scale: int = 10) -> bytes:
    out = io.BytesIO()
    qr_code(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(url: str, *, title: str = "") -> bytes:
    out = io.BytesIO()
    qr_code(url).save(out, kind="svg", scale=8, border=4, title=title or None, xmldecl=True)
    return out.getvalue()


# --- The poster's words -----------------------------------------------------------------------


@dataclass(frozen=True)
class PosterText:
    name: str
    category: str
    call: str
    hint: str
    pledges: list[str]
    verified: str
    url: str


def poster_text(shop: Shop, url: str) -> PosterText:
    """The poster's words in the active language (the shopkeeper's), the shop's own name as given."""
    badges = pledge_badges(shop=shop)
    return PosterText(
        name=shop.name,
        category=str(Category(shop.category).label) if shop.category in Category.values else "",
        call=_("Scan to follow us on Jiefang"),
        hint=_("See today's offers and hear of new ones first."),
        pledges=[b.summary for b in badges],
        verified=_("Verified shop") if shop.is_verified else "",
        url=url,
    )


# --- PDF (reportlab) --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _register_cid_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def _pdf_font(text: str, bold: bool = False) -> str:
    if text.isascii():
        return LATIN_BOLD if bold else LATIN_FONT
    return _register_cid_font()


def _wrap(text: str, width_of, max_width: float) -> list[str]:
    """Greedy wrapping that works for Chinese (no spaces) as well as for words."""
    lines, line = [], ""
    for token in _tokens(text):
        candidate = line + token
        if line and width_of(candidate) > max_width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
    if line:
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    tokens, word = [], ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            tokens.append(word)
            word = ""
        tokens.append(ch)
    if word:
        tokens.append(word)
    return tokens


def poster_pdf(shop: Shop, url: str) -> bytes:
    text = poster_text(shop, url)
    width, height = A4
    margin = 48
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(text.name)
    pdf.setAuthor("Jiefang")
    pdf.setCreator("Jiefang")

    def centred(s: str, y: float, size: float, *, bold=False, color=(0, 0, 0), max_width=width - 2 * margin):
        font = _pdf_font(s, bold)
        lines = _wrap(s, lambda t: pdfmetrics.stringWidth(t, _pdf_font(t, bold), size), max_width)
        pdf.setFillColorRGB(*(c / 255 for c in color))
        for line in lines:
            pdf.setFont(_pdf_font(line, bold) if line else font, size)
            pdf.drawCentredString(width / 2, y, line)
            y -= size * 1.25
        return y

    # A coloured band on top with the shop's name: what a passer-by reads first.
    band = 170
    pdf.setFillColorRGB(*(c / 255 for c in ACCENT))
    pdf.rect(0, height - band, width, band, stroke=0, fill=1)
    name_size = 40 if len(text.name) <= 14 else 30 if len(text.name) <= 28 else 22
    y = centred(text.name, height - 80, name_size, bold=True, color=(255, 255, 255))
    sub = " · ".join(s for s in (text.category, text.verified) if s)
    if sub:
        centred(sub, max(y - 4, height - band + 18), 16, color=(255, 255, 255))

    y = height - band - 56
    y = centred(text.call, y, 26, bold=True)
    y = centred(text.hint, y - 4, 14, color=(90, 90, 90))

    # The QR code itself, drawn module by module as vectors: sharp at any print size.
    code = qr_code(url)
    side = 300
    modules = code.symbol_size(scale=1, border=4)[0]
    cell = side / modules
    left, top = (width - side) / 2, y - 16
    pdf.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(code.matrix_iter(scale=1, border=4)):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(left + c * cell, top - (r + 1) * cell, cell + 0.01, cell + 0.01, stroke=0, fill=1)
    y = top - side - 22
    y = centred(text.url, y, 10, color=(90, 90, 90))

    if text.pledges:
        y = centred(_("Our pledges"), y - 18, 16, bold=True, color=ACCENT)
        for line in text.pledges:
            y = centred(line, y, 14)
    centred("街坊 Jiefang", margin, 12, color=(120, 120, 120))
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# --- PNG poster (Pillow) ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """A font file with Chinese glyphs, or None: JIEFANG_CJK_FONT, then the usual system places."""
    configured = getattr(settings, "JIEFANG_CJK_FONT", "")
    for candidate in (configured, *CJK_FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    for pattern in ("*CJK*SC*", "*CJK*", "*wqy*", "*DroidSansFallback*"):
        for found in sorted(Path("/usr/share/fonts").rglob(pattern)) if Path("/usr/share/fonts").is_dir() else []:
            if found.suffix.lower() in (".ttf", ".ttc", ".otf"):
                return str(found)
    return None


def _sc_index(path: str) -> int:
    """In a font collection, the face for Simplified Chinese (Noto CJK puts JP first)."""
    for index in range(10):
        try:
            face = ImageFont.truetype(path, 12, index=index)
        except OSError:
            break
        if " SC" in " ".join(face.getname()):
            return index
    return 0


def _png_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = cjk_font_path()
    if path is None:
        log.warning("No CJK font found for the PNG poster; install fonts-noto-cjk or set JIEFANG_CJK_FONT.")
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size, index=_sc_index(path) if path.endswith(".ttc") else 0)


def poster_png(shop: Shop, url: str, *, dpi: int = 150) -> bytes:
    text = poster_text(shop, url)
    width, height = round(8.27 * dpi), round(11.69 * dpi)  # A4
    k = dpi / 72  # the layout is in points, like the PDF
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    margin = 48 * k

    def centred(s: str, y: float, size: float, *, color=(0, 0, 0), max_width=width - 2 * margin) -> float:
        font = _png_font(round(size * k))
        for line in _wrap(s, lambda t: draw.textlength(t, font=font), max_width):
            draw.text((width / 2, y), line, font=font, fill=color, anchor="ma")
            y += size * k * 1.25
        return y

    band = 170 * k
    draw.rectangle((0, 0, width, band), fill=ACCENT)
    name_size = 40 if len(text.name) <= 14 else 30 if len(text.name) <= 28 else 22
    y = centred(text.name, 45 * k, name_size, color=(255, 255, 255))
    sub = " · ".join(s for s in (text.category, text.verified) if s)
    if sub:
        centred(sub, min(y + 4 * k, band - 34 * k), 16, color=(255, 255, 255))

    y = band + 34 * k
    y = centred(text.call, y, 26)
    y = centred(text.hint, y + 4 * k, 14, color=(90, 90, 90))

    code = qr_code(url)
    side = round(300 * k)
    modules = code.symbol_size(scale=1, border=4)[0]
    scale = max(1, side // modules)
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=scale, border=4)
    qr_image = Image.open(buf).convert("RGB")
    y += 16 * k
    image.paste(qr_image, (round((width - qr_image.width) / 2), round(y)))
    y += qr_image.height + 12 * k
    y = centred(text.url, y, 10, color=(90, 90, 90))

    if text.pledges:
        y = centred(_("Our pledges"), y + 18 * k, 16, color=ACCENT)
        for line in text.pledges:
            y = centred(line, y, 14)
    centred("街坊 Jiefang", height - margin - 12 * k, 12, color=(120, 120, 120))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, dpi=(dpi, dpi))
    return out.getvalue()
