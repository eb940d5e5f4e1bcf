from django.urls import path

from . import views

app_name = "market"

urlpatterns = [
    path("", views.feed, name="feed"),
    path("map/", views.feed_map, name="map"),
    path("mine/", views.my_stalls, name="mine"),
    path("stalls/new/", views.stall_create, name="stall_create"),
    path("stalls/<int:pk>/", views.stall_detail, name="stall_detail"),
    path("stalls/<int:pk>/edit/", views.stall_edit, name="stall_edit"),
    path("stalls/<int:pk>/<str:action>/", views.stall_status, name="stall_status"),
]
