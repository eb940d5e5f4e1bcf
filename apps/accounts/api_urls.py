from django.urls import path

from . import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("me/home/", api.MeHomeApi.as_view(), name="api-me-home"),
    path("me/avatar/", api.MeAvatarApi.as_view(), name="api-me-avatar"),
    path("areas/snap/", api.AreaSnapApi.as_view(), name="api-area-snap"),
    path("residents/<int:pk>/", api.ResidentDetailApi.as_view(), name="api-resident-detail"),
]
