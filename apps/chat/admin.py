from django.contrib import admin

from apps.moderation.admin import moderation_links

from .models import Block, Conversation, Message


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
    list_display = ("id", "conversation", "seq", "sender", "shop", "created_at", "hidden_at")
    search_fields = ("body", "sender__username")
    raw_id_fields = ("conversation", "sender", "shop")
    readonly_fields = ("hidden_at", "moderation")

    @admin.display(description="moderation")
    def moderation(self, obj):
        # Reports on a message are in the moderators' queue (apps.moderation), with its history.
        return moderation_links(obj)

    # Messages are evidence for reports: moderators read them; nobody edits them here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    raw_id_fields = ("blocker", "blocked")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
