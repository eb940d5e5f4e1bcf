from django.urls import path

from . import api

urlpatterns = [
    path("chat/conversations/", api.ConversationListApi.as_view(), name="api-chat-conversations"),
    path("chat/conversations/<int:pk>/", api.ConversationDetailApi.as_view(), name="api-chat-conversation"),
    path("chat/conversations/<int:pk>/messages/", api.MessageListApi.as_view(), name="api-chat-messages"),
    path("chat/conversations/<int:pk>/read/", api.ConversationReadApi.as_view(), name="api-chat-read"),
    path("chat/rooms/join/", api.RoomJoinApi.as_view(), name="api-chat-room-join"),
    path("chat/messages/<int:pk>/report/", api.MessageReportApi.as_view(), name="api-chat-message-report"),
    path("chat/blocks/", api.BlockListApi.as_view(), name="api-chat-blocks"),
    path("chat/blocks/<int:resident_id>/", api.BlockDeleteApi.as_view(), name="api-chat-block"),
]
