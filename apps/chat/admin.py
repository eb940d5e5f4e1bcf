from django.contrib import admin

from .models import Block, Conversation, Message, MessageReport


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "resident_a",
        "resident_b",
        "resident",
        "shop",
        "room_cell",
        "last_seq",
        "last_message_at",
    )
    list_filter = ("kind",)
    raw_id_fields = ("resident_a", "resident_b", "resident", "shop", "stall")
    readonly_fields = ("last_seq", "last_message_at", "created_at")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "conversation", "seq", "sender", "shop", "created_at")
    search_fields = ("body", "sender__username")
    raw_id_fields = ("conversation", "sender", "shop")

    # Messages are evidence for reports: moderators read them; nobody edits them here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MessageReport)
class MessageReportAdmin(admin.ModelAdmin):
    list_display = ("id", "reason", "reporter", "message", "message_body", "created_at")
    list_filter = ("reason",)
    raw_id_fields = ("message", "reporter")
    readonly_fields = ("message", "reporter", "reason", "note", "created_at", "message_body")

    @admin.display(description="message")
    def message_body(self, obj):
        return obj.message.body[:120]

    def has_add_permission(self, request):
        return False


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    raw_id_fields = ("blocker", "blocked")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
