from django.urls import path

from . import api

urlpatterns = [
    path("shops/", api.ShopListApi.as_view(), name="api-shops"),
    path("shops/mine/", api.ShopMineApi.as_view(), name="api-shops-mine"),
    path("shops/<int:pk>/", api.ShopDetailApi.as_view(), name="api-shop-detail"),
    path("shops/<int:pk>/photos/", api.ShopPhotosApi.as_view(), name="api-shop-photos"),
    path("shops/<int:pk>/photos/<int:photo_id>/", api.ShopPhotoDetailApi.as_view(), name="api-shop-photo"),
    path("shops/<int:pk>/hours/", api.ShopHoursApi.as_view(), name="api-shop-hours"),
    path("shops/<int:pk>/exceptions/", api.ShopExceptionsApi.as_view(), name="api-shop-exceptions"),
    path("shops/<int:pk>/exceptions/<str:date>/", api.ShopExceptionDetailApi.as_view(), name="api-shop-exception"),
    path("shops/<int:pk>/pledges/", api.ShopPledgesApi.as_view(), name="api-shop-pledges"),
    path("shops/<int:pk>/pledges/<int:pledge_id>/", api.ShopPledgeDetailApi.as_view(), name="api-shop-pledge"),
    path("shops/<int:pk>/follow/", api.ShopFollowApi.as_view(), name="api-shop-follow"),
    path("shops/<int:pk>/staff/", api.ShopStaffApi.as_view(), name="api-shop-staff"),
    path("shops/<int:pk>/staff/<int:resident_id>/", api.ShopStaffDetailApi.as_view(), name="api-shop-staff-member"),
    path("shops/<int:pk>/qr.png", api.ShopQrPngApi.as_view(), name="api-shop-qr-png"),
    path("shops/<int:pk>/qr.svg", api.ShopQrSvgApi.as_view(), name="api-shop-qr-svg"),
    path("shops/<int:pk>/poster.pdf", api.ShopPosterPdfApi.as_view(), name="api-shop-poster-pdf"),
    path("shops/<int:pk>/poster.png", api.ShopPosterPngApi.as_view(), name="api-shop-poster-png"),
    path("pledges/catalogue/", api.PledgeCatalogueApi.as_view(), name="api-pledge-catalogue"),
    path("pledges/<int:pledge_id>/", api.PledgeRecordApi.as_view(), name="api-pledge"),
]
