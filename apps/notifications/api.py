from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ErrorSerializer, cursor_page

from . import services
from .models import NotificationPreferences
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
    @extend_schema(
        responses=cursor_page(NotificationSerializer),
        operation_id="notifications_list",
        summary="Your notifications, newest first",
    )
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


class PreferencesSerializer(serializers.Serializer):
    """Types only; ranges and the time zone are the service's rules (clear 400s with a `field`)."""

    digest = serializers.ChoiceField(choices=NotificationPreferences.Digest.choices, required=False)
    digest_hour = serializers.IntegerField(required=False, help_text="0–23, in the resident's time zone")
    digest_weekday = serializers.IntegerField(required=False, help_text="0 = Monday … 6 = Sunday")
    time_zone = serializers.CharField(required=False, max_length=64, help_text="An IANA name, e.g. Asia/Shanghai")
    email_messages = serializers.BooleanField(required=False)
    email_deals = serializers.BooleanField(required=False)
    email_moderation = serializers.BooleanField(required=False)


class NotificationPreferencesApi(APIView):
    @extend_schema(responses=PreferencesSerializer, summary="Your e-mail preferences (digest and immediate e-mails)")
    def get(self, request):
        return Response(PreferencesSerializer(services.preferences_of(resident_id=request.user.pk)).data)

    @extend_schema(
        request=PreferencesSerializer,
        responses={200: PreferencesSerializer, 400: ErrorSerializer},
        summary="Change some of your e-mail preferences",
    )
    def patch(self, request):
        serializer = PreferencesSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        prefs = services.preferences_update(resident=request.user, **serializer.validated_data)
        return Response(PreferencesSerializer(prefs).data)
