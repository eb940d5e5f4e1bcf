from django.urls import path, re_path

from . import views

app_name = "shops"

urlpatterns = [
    path("", views.shop_list, name="list"),
    path("new/", views.shop_register, name="register"),
    path("<int:pk>/", views.shop_detail, name="detail"),
    path("<int:pk>/follow/", views.shop_follow, name="follow"),
    path("<int:pk>/manage/", views.shop_manage, name="manage"),
    path("<int:pk>/edit/", views.shop_edit, name="edit"),
    path("<int:pk>/delete/", views.shop_delete, name="delete"),
    path("<int:pk>/staff/", views.shop_staff, name="staff"),
    path("<int:pk>/hours/", views.shop_hours, name="hours"),
    path("<int:pk>/hours/exceptions/<str:date>/remove/", views.shop_exception_remove, name="exception_remove"),
    path("<int:pk>/pledges/", views.shop_pledges, name="pledges"),
    path("<int:pk>/pledges/<int:pledge_id>/withdraw/", views.shop_pledge_withdraw, name="pledge_withdraw"),
    path("<int:pk>/photos/", views.shop_photos, name="photos"),
    path("<int:pk>/photos/<int:photo_id>/remove/", views.shop_photo_remove, name="photo_remove"),
    re_path(r"^(?P<pk>\d+)/(?P<kind>qr\.png|qr\.svg|poster\.pdf|poster\.png)$", views.shop_qr, name="qr"),
]
