from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("<int:pk>/", views.conversation_view, name="conversation"),
    path("room/", views.room_page, name="room"),
    path("open/stall/<int:stall_id>/", views.open_for_stall, name="open_stall"),
    path("open/shop/<int:shop_id>/", views.open_for_shop, name="open_shop"),
    path("open/resident/<int:resident_id>/", views.open_with_resident, name="open_resident"),
    path("block/<int:resident_id>/", views.block, name="block"),
    path("unblock/<int:resident_id>/", views.unblock, name="unblock"),
    path("messages/<int:message_id>/report/", views.report, name="report"),
]
