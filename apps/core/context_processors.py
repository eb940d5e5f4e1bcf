from django.conf import settings


def site(request):
    return {
        "TILE_URL": settings.JIEFANG_TILE_URL,
        "TILE_ATTRIBUTION": settings.JIEFANG_TILE_ATTRIBUTION,
    }
