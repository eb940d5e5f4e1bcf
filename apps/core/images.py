"""Uploaded pictures: checked, re-encoded, and stripped of EXIF (GPS included) before storage."""

from __future__ import annotations

import io
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DomainError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


class InvalidImage(DomainError):
    code = "invalid_image"


def image_clean(upload, *, field: str = "image") -> ContentFile:
    """Returns a fresh JPEG (or PNG when the picture has transparency) with no metadata at all."""
    size = getattr(upload, "size", None)
    if size is None or size > settings.JIEFANG_IMAGE_MAX_BYTES:
        raise InvalidImage(
            _("Images may be at most %(mb)d MB.") % {"mb": settings.JIEFANG_IMAGE_MAX_BYTES // (1024 * 1024)},
            field=field,
        )
    if size == 0:
        raise InvalidImage(_("The file is empty."), field=field)
    Image.MAX_IMAGE_PIXELS = settings.JIEFANG_IMAGE_MAX_PIXELS
    try:
        upload.seek(0)
        probe = Image.open(upload)
        image_format = probe.format
        probe.verify()  # catches truncated and forged files before decoding them for real
        upload.seek(0)
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidImage(_("This file is not a picture we can read (JPEG, PNG, WebP or GIF)."), field=field) from None
    if image_format not in ACCEPTED_FORMATS:
        raise InvalidImage(_("Only JPEG, PNG, WebP and GIF pictures are accepted."), field=field)

    image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant, then drop EXIF
    image.thumbnail((settings.JIEFANG_IMAGE_MAX_SIDE, settings.JIEFANG_IMAGE_MAX_SIDE))
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    out = io.BytesIO()
    if has_alpha:
        clean = image.convert("RGBA")
        clean.save(out, format="PNG", optimize=True)
        ext = "png"
    else:
        clean = image.convert("RGB")
        clean.save(out, format="JPEG", quality=85, optimize=True)
        ext = "jpg"
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{ext}")
