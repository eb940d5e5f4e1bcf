from django.urls import path

from . import api

urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/unread/", api.NotificationUnreadApi.as_view(), name="api-notifications-unread"),
    path("notifications/<int:pk>/read/", api.NotificationReadApi.as_view(), name="api-notification-read"),
    path("notifications/preferences/", api.NotificationPreferencesApi.as_view(), name="api-notification-preferences"),
    path("notifications/read-all/", api.NotificationReadAllApi.as_view(), name="api-notifications-read-all"),
]
