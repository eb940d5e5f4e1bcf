"""The residency letters as a PDF: one A4 page per resident, in the resident's language, with the
code and how to use it. Rendered in memory from the codes `services.residency_letters_print`
returns; the codes are never stored in clear, so the PDF cannot be made again later.

reportlab's built-in CID font STSong-Light sets Chinese without shipping a font file; Latin-only
lines use Helvetica, which reads better.
"""

from __future__ import annotations

import io
from functools import lru_cache

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from . import rules
from .services import PrintedLetter, code_display

CID_FONT = "STSong-Light"
LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
MARGIN = 64


@lru_cache(maxsize=1)
def _cid_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def _font(text: str, bold: bool = False) -> str:
    if text.isascii():
        return LATIN_BOLD if bold else LATIN
    return _cid_font()


def _tokens(text: str) -> list[str]:
    """Words stay whole; every Chinese character (and space) is a token of its own."""
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


def _wrap(text: str, size: float, max_width: float, bold: bool = False) -> list[str]:
    lines, line = [], ""
    for token in _tokens(text):
        candidate = line + token
        if line and pdfmetrics.stringWidth(candidate, _font(candidate, bold), size) > max_width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
    if line:
        lines.append(line.rstrip())
    return lines


def letters_pdf(printed: list[PrintedLetter], *, site_url: str) -> bytes:
    """`site_url`: where residents sign in, as the moderator's request sees the site."""
    width, height = A4
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle("Jiefang residency letters")
    pdf.setAuthor("Jiefang")

    def text(s: str, x: float, y: float, size: float, *, bold=False, max_width=width - 2 * MARGIN) -> float:
        for line in _wrap(s, size, max_width, bold) or [""]:
            pdf.setFont(_font(line, bold), size)
            pdf.drawString(x, y, line)
            y -= size * 1.45
        return y

    for item in printed:
        letter, resident = item.letter, item.letter.resident
        with translation.override(resident.language):
            # The address block, where a window envelope shows it.
            y = height - 120
            for line in [resident.display_name, *letter.postal_address.splitlines()]:
                y = text(line, MARGIN, y, 12)
            y = height - 260
            y = text(_("Jiefang · verify your residency"), MARGIN, y, 20, bold=True)
            y = text(
                _("Hello %(name)s, you asked to verify that you live in your neighbourhood on Jiefang.")
                % {"name": resident.display_name},
                MARGIN,
                y - 8,
                12,
            )
            y = text(_("Your code:"), MARGIN, y - 16, 14)
            pdf.setFont("Courier-Bold", 40)
            pdf.drawString(MARGIN, y - 36, code_display(item.code))
            y -= 80
            expires = formats.date_format(timezone.localtime(letter.expires_at), "DATE_FORMAT")
            steps = [
                _("1. Sign in at %(url)s") % {"url": site_url},
                _("2. Open Me → Verified residency, and type the code above."),
                _("3. The code works once, until %(date)s. After %(n)d wrong tries the letter is locked.")
                % {"date": expires, "n": rules.LETTER_MAX_ATTEMPTS},
            ]
            for step in steps:
                y = text(step, MARGIN, y, 12)
            y = text(
                _("Did not ask for this letter? Ignore it; nobody can use the code without your account."),
                MARGIN,
                y - 16,
                10,
            )
            pdf.setFont(LATIN, 8)
            pdf.drawString(MARGIN, 40, f"#{letter.pk} · batch {letter.batch_id}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()
