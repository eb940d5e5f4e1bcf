"""The chat over HTTP: the same services as the socket, for lists, history, resync and sending
while the socket is down."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ErrorSerializer
from apps.core.errors import DomainError
from apps.market.models import Stall
from apps.moderation.models import Reason
from apps.shops.models import Shop

from . import selectors, services
from .payloads import message_as_dict

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class PartySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    """Documents `payloads.message_as_dict`, the shape the socket sends too."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    sender = PartySerializer()
    shop = PartySerializer(allow_null=True)
    client_id = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    photo = serializers.CharField(allow_null=True)
    hidden = serializers.BooleanField(help_text="Hidden by moderation: body and photo are withheld")
    created_at = serializers.DateTimeField()


class ConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    stall = serializers.SerializerMethodField()
    last_seq = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    unread = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_stall(self, obj) -> dict | None:
        if obj.stall_id is None:
            return None
        return {"id": obj.stall_id, "title": obj.stall.title}

    def get_url(self, obj) -> str:
        return reverse("chat:conversation", args=[obj.pk])


def _detail(conversation, resident):
    conversation.title = selectors.conversation_title(conversation, resident)
    conversation.unread = max(
        conversation.last_seq - selectors.read_seq_of(conversation=conversation, resident=resident), 0
    )
    return ConversationSerializer(conversation).data


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise DomainError(_("%(name)s must be a whole number.") % {"name": name}, field=name) from None
    if number < 0:
        raise DomainError(_("%(name)s must not be negative.") % {"name": name}, field=name)
    return number


class ConversationOpenInput(serializers.Serializer):
    resident_id = serializers.IntegerField(required=False)
    shop_id = serializers.IntegerField(required=False)
    stall_id = serializers.IntegerField(required=False)


class ConversationListApi(APIView):
    @extend_schema(
        summary="Your conversations and joined rooms, by last activity, with unread counts",
        responses=ConversationSerializer(many=True),
    )
    def get(self, request):
        conversations = selectors.conversations_for(resident=request.user)
        return Response(ConversationSerializer(conversations, many=True).data)

    @extend_schema(
        summary="Open (or find again) a conversation with a resident, a shop, or a stall's seller",
        request=ConversationOpenInput,
        responses={200: ConversationSerializer, **ERRORS},
    )
    def post(self, request):
        data = ConversationOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = {k: v for k, v in data.validated_data.items() if v is not None}
        if len(given) != 1:
            raise services.InvalidTarget(_("Give exactly one of resident_id, shop_id, stall_id."))
        if "stall_id" in given:
            stall = get_object_or_404(Stall.objects.select_related("shop", "seller"), pk=given["stall_id"])
            conversation = services.conversation_open_for_stall(resident=request.user, stall=stall)
        elif "shop_id" in given:
            shop = get_object_or_404(Shop, pk=given["shop_id"])
            conversation = services.conversation_open(resident=request.user, shop=shop)
        else:
            other = get_object_or_404(get_user_model(), pk=given["resident_id"])
            conversation = services.conversation_open(resident=request.user, other=other)
        conversation = selectors.conversation_get_for_member(resident=request.user, conversation_id=conversation.pk)
        return Response(_detail(conversation, request.user))


class ConversationDetailApi(APIView):
    @extend_schema(summary="One conversation", responses={200: ConversationSerializer, **ERRORS})
    def get(self, request, pk: int):
        conversation = selectors.conversation_get_for_member(resident=request.user, conversation_id=pk)
        return Response(_detail(conversation, request.user))


class MessagePageSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
    last_seq = serializers.IntegerField()
    read_seq = serializers.IntegerField()
    others_read_seq = serializers.IntegerField(help_text="how far the other side has read (0 in rooms)")
    has_more = serializers.BooleanField()


class MessageSendInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    body = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    photo = serializers.FileField(required=False)


class MessageListApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Messages: history going back from `before`, or everything after `after` (resync)",
        parameters=[
            OpenApiParameter("before", int, description="sequence number; the page ends just before it"),
            OpenApiParameter("after", int, description="sequence number; messages after it, oldest first"),
            OpenApiParameter("limit", int, description="at most 100 (history) or 200 (resync)"),
        ],
        responses={200: MessagePageSerializer, **ERRORS},
    )
    def get(self, request, pk: int):
        conversation = selectors.conversation_get_for_member(resident=request.user, conversation_id=pk)
        before, after = _int_param(request, "before"), _int_param(request, "after")
        if before is not None and after is not None:
            raise DomainError(_("Give before or after, not both."), field="after")
        if after is not None:
            limit = min(_int_param(request, "limit") or selectors.RESYNC_PAGE, selectors.RESYNC_PAGE)
            messages = selectors.messages_after(conversation=conversation, after_seq=after, limit=limit + 1)
            has_more = len(messages) > limit
            messages = messages[:limit]
        else:
            limit = min(_int_param(request, "limit") or selectors.HISTORY_PAGE, 100)
            messages = selectors.messages_before(conversation=conversation, before_seq=before, limit=limit + 1)
            has_more = len(messages) > limit
            messages = messages[-limit:] if messages else []
        return Response(
            {
                "messages": [message_as_dict(m) for m in messages],
                "last_seq": conversation.last_seq,
                "read_seq": selectors.read_seq_of(conversation=conversation, resident=request.user),
                "others_read_seq": selectors.others_read_seq(conversation=conversation, resident=request.user),
                "has_more": has_more,
            }
        )

    @extend_schema(
        summary="Send a message (JSON, or multipart with a photo); retrying with the same client_id is safe",
        request={"application/json": MessageSendInput, "multipart/form-data": MessageSendInput},
        responses={
            201: MessageSerializer,
            200: MessageSerializer,
            409: ErrorSerializer,
            429: ErrorSerializer,
            **ERRORS,
        },
    )
    def post(self, request, pk: int):
        data = MessageSendInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_send(
            sender=request.user,
            conversation_id=pk,
            body=data.validated_data["body"],
            client_msg_id=data.validated_data["client_id"],
            photo=data.validated_data.get("photo"),
        )
        code = status.HTTP_200_OK if message.was_duplicate else status.HTTP_201_CREATED
        return Response(message_as_dict(message), status=code)


class ConversationReadInput(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0)


class ConversationReadApi(APIView):
    @extend_schema(
        summary="Move your read marker up to `seq`",
        request=ConversationReadInput,
        responses={200: inline_serializer("ChatReadMarker", {"read_seq": serializers.IntegerField()}), **ERRORS},
    )
    def post(self, request, pk: int):
        data = ConversationReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.message_mark_read(resident=request.user, conversation_id=pk, seq=data.validated_data["seq"])
        return Response({"read_seq": member.last_read_seq})


class RoomJoinInput(serializers.Serializer):
    cell = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1, help_text="An H3 cell")


class RoomJoinApi(APIView):
    @extend_schema(
        summary="Join your neighbourhood room (or one of your shops' rooms by `cell`)",
        request=RoomJoinInput,
        responses={200: ConversationSerializer, **ERRORS},
    )
    def post(self, request):
        data = RoomJoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        room = services.room_join(resident=request.user, cell=data.validated_data.get("cell"))
        room = selectors.conversation_get_for_member(resident=request.user, conversation_id=room.pk)
        data = _detail(room, request.user)
        data["can_post"] = selectors.can_post_in_room(request.user, room)
        return Response(data)


class MessageReportInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class MessageReportApi(APIView):
    @extend_schema(
        summary="Report a message to the moderators",
        request=MessageReportInput,
        responses={201: inline_serializer("MessageReportFiled", {"id": serializers.IntegerField()}), **ERRORS},
    )
    def post(self, request, pk: int):
        data = MessageReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.message_report(reporter=request.user, message_id=pk, **data.validated_data)
        return Response({"id": report.pk}, status=status.HTTP_201_CREATED)


class BlockSerializer(serializers.Serializer):
    resident_id = serializers.IntegerField(source="blocked_id")
    name = serializers.CharField(source="blocked")
    created_at = serializers.DateTimeField()


class ChatBlockInput(serializers.Serializer):
    resident_id = serializers.IntegerField()


class BlockListApi(APIView):
    @extend_schema(summary="Residents you blocked", responses=BlockSerializer(many=True))
    def get(self, request):
        return Response(BlockSerializer(selectors.blocks_by(resident=request.user), many=True).data)

    @extend_schema(summary="Block a resident", request=ChatBlockInput, responses={201: BlockSerializer, **ERRORS})
    def post(self, request):
        data = ChatBlockInput(data=request.data)
        data.is_valid(raise_exception=True)
        blocked = get_object_or_404(get_user_model(), pk=data.validated_data["resident_id"])
        block = services.block_create(blocker=request.user, blocked=blocked)
        return Response(BlockSerializer(block).data, status=status.HTTP_201_CREATED)


class BlockDeleteApi(APIView):
    @extend_schema(summary="Unblock a resident", request=None, responses={204: None, **ERRORS})
    def delete(self, request, resident_id: int):
        blocked = get_object_or_404(get_user_model(), pk=resident_id)
        services.block_remove(blocker=request.user, blocked=blocked)
        return Response(status=status.HTTP_204_NO_CONTENT)
