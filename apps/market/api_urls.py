from django.urls import path

from . import api

urlpatterns = [
    path("stalls/", api.StallListApi.as_view(), name="api-stalls"),
    path("stalls/feed/", api.StallFeedApi.as_view(), name="api-stall-feed"),
    path("stalls/<int:pk>/", api.StallDetailApi.as_view(), name="api-stall-detail"),
    path("stalls/<int:pk>/reserve/", api.StallReserveApi.as_view(), name="api-stall-reserve"),
    path("stalls/<int:pk>/reopen/", api.StallReopenApi.as_view(), name="api-stall-reopen"),
    path("stalls/<int:pk>/close/", api.StallCloseApi.as_view(), name="api-stall-close"),
    path("stalls/<int:pk>/renew/", api.StallRenewApi.as_view(), name="api-stall-renew"),
    path("stalls/<int:pk>/photos/", api.StallPhotosApi.as_view(), name="api-stall-photos"),
    path("stalls/<int:pk>/photos/<int:photo_id>/", api.StallPhotoDeleteApi.as_view(), name="api-stall-photo"),
]
