from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ErrorSerializer

from . import services
from .selectors import notifications_for, notifications_unread_count


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationCursor(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 30


class NotificationListApi(APIView):
    @extend_schema(responses=NotificationSerializer(many=True), summary="Your notifications, newest first")
    def get(self, request):
        paginator = NotificationCursor()
        page = paginator.paginate_queryset(notifications_for(resident=request.user), request, view=self)
        return paginator.get_paginated_response(NotificationSerializer(page, many=True).data)


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class NotificationUnreadApi(APIView):
    @extend_schema(responses=UnreadCountSerializer, summary="How many notifications are unread")
    def get(self, request):
        return Response({"unread": notifications_unread_count(resident=request.user)})


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses={200: NotificationSerializer, 404: ErrorSerializer})
    def post(self, request, pk: int):
        notification = services.notification_mark_read(resident=request.user, notification_id=pk)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(request=None, responses=UnreadCountSerializer)
    def post(self, request):
        services.notifications_mark_all_read(resident=request.user)
        return Response({"unread": 0})
