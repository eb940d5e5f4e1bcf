from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("report/<str:kind>/<int:object_id>/", views.report_create, name="report"),
    path("reports/", views.my_reports, name="my_reports"),
    path("decisions/", views.my_decisions, name="decisions"),
    path("decisions/<int:pk>/appeal/", views.appeal_create, name="appeal"),
    path("appeal/<str:token>/", views.appeal_by_link, name="appeal_by_link"),
]
