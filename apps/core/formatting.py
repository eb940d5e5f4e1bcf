from django.utils.translation import gettext as _


def distance_text(meters: float) -> str:
    """ "350 m", "1.2 km" in the reader's language (米 / 公里 in Chinese)."""
    if meters >= 1000:
        return _("%(km).1f km") % {"km": meters / 1000}
    return _("%(m)d m") % {"m": int(meters)}
