from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

from apps.core.api_docs import ApiDocsView, ApiRedocView
from apps.market import views as market_views

api_patterns = [
    path("", include("apps.accounts.api_urls")),
    path("", include("apps.shops.api_urls")),
    path("", include("apps.market.api_urls")),
    path("", include("apps.chat.api_urls")),
    path("", include("apps.notifications.api_urls")),
    path("", include("apps.moderation.api_urls")),
    path("", include("apps.trust.api_urls")),
]

urlpatterns = [
    path("", market_views.feed, name="home"),
    path("accounts/", include("apps.accounts.urls")),
    path("shops/", include("apps.shops.urls")),
    path("market/", include("apps.market.urls")),
    path("chat/", include("apps.chat.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("moderation/", include("apps.moderation.urls")),
    path("trust/", include("apps.trust.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("api/auth/", include("rest_framework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", ApiRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Uploads are served by Django itself in the embedded set-up; behind a proxy, let it serve /media/.
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
]

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
