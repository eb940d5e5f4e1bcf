from django.urls import path

from . import api

urlpatterns = [
    path("reports/", api.ReportFileApi.as_view(), name="api-report-file"),
    path("reports/mine/", api.ReportListApi.as_view(), name="api-reports-mine"),
    path("moderation/decisions/", api.DecisionListApi.as_view(), name="api-decisions-mine"),
    path("moderation/decisions/<int:pk>/appeal/", api.AppealFileApi.as_view(), name="api-decision-appeal"),
]
