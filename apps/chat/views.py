"""Chat pages. The conversation page is live through static/js/chat.js; everything it does goes
through the API and the socket, so these views only render and hand writes to services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.errors import DomainError
from apps.market import selectors as market_selectors
from apps.moderation.models import Reason
from apps.shops.models import Shop

from . import selectors, services
from .models import Conversation, Message


@login_required
def conversation_list(request):
    conversations = selectors.conversations_for(resident=request.user)
    return render(request, "chat/list.html", {"conversations": conversations})


def _open_and_go(request, **target):
    try:
        conversation = services.conversation_open(resident=request.user, **target)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(request.POST.get("next") or "chat:list")
    return redirect("chat:conversation", pk=conversation.pk)


@login_required
@require_POST
def open_for_stall(request, stall_id: int):
    """ "Message the seller" on a stall page posts here. A stall the resident may not see (hidden by
    moderation) is not found, as on its page."""
    stall = market_selectors.stall_get_for_viewer(stall_id=stall_id, viewer=request.user)
    return _open_and_go(request, stall=stall)


@login_required
@require_POST
def open_for_shop(request, shop_id: int):
    return _open_and_go(request, shop=get_object_or_404(Shop, pk=shop_id))


@login_required
@require_POST
def open_with_resident(request, resident_id: int):
    return _open_and_go(request, other=get_object_or_404(get_user_model(), pk=resident_id, is_active=True))


@login_required
def conversation_view(request, pk: int):
    conversation = selectors.conversation_get_for_member(resident=request.user, conversation_id=pk)
    title = selectors.conversation_title(conversation, request.user)
    blocked = selectors.is_blocked_in(request.user, conversation)
    if conversation.is_room:
        can_post = selectors.can_post_in_room(request.user, conversation)
        counterpart = None
    else:
        can_post = not blocked
        others = selectors.counterpart_ids(conversation, request.user)
        # Block the person on the other side; on a shop's side that is the resident, seen from the
        # resident it is the shop's owner (staff answer for the owner's shop).
        if conversation.kind == Conversation.Kind.SHOP and request.user.pk == conversation.resident_id:
            counterpart = conversation.shop.owner
        else:
            counterpart = get_user_model().objects.filter(pk__in=others).first()
    i_blocked = bool(counterpart) and selectors.blocks_by(resident=request.user).filter(blocked=counterpart).exists()
    context = {
        "conversation": conversation,
        "title": title,
        "can_post": can_post,
        "blocked": blocked,
        "counterpart": counterpart,
        "i_blocked": i_blocked,
        "read_seq": selectors.read_seq_of(conversation=conversation, resident=request.user),
        "chat_strings": _chat_strings(),
        "report_reasons": Reason.choices,
    }
    return render(request, "chat/conversation.html", context)


def _chat_strings() -> dict:
    """Words chat.js shows, translated here (the page passes them as JSON data)."""
    return {
        "loadEarlier": _("Load earlier messages"),
        "noMore": _("This is the beginning of the conversation."),
        "connecting": _("Connecting…"),
        "online": _("Live"),
        "offline": _("Offline: messages are sent over HTTP and will appear when reconnected."),
        "reconnecting": _("Reconnecting in %(s)s s…"),
        "typing": _("%(name)s is typing…"),
        "sending": _("Sending…"),
        "failed": _("Not sent yet: will retry."),
        "photo": _("Photo"),
        "you": _("You"),
        "closed": _("This conversation is closed."),
        "signedOut": _("You are signed out. Reload the page to sign in again."),
        "report": _("Report"),
        "seen": _("Seen"),
        "hidden": _("Hidden by moderation."),
        "unreadBelow": _("New messages"),
    }


@login_required
def room_page(request):
    """The room of the resident's neighbourhood: joined on the first visit (POST), then shown."""
    cell = selectors.home_room_cell(request.user)
    if cell is None:
        cells = selectors.room_cells_for(request.user)
        cell = next(iter(cells), None)
    room = None
    if cell is not None:
        room = Conversation.objects.filter(
            kind=Conversation.Kind.ROOM, room_cell=cell, members__resident=request.user
        ).first()
    if room is not None:
        return redirect("chat:conversation", pk=room.pk)
    if request.method == "POST":
        try:
            room = services.room_join(resident=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("chat:room")
        return redirect("chat:conversation", pk=room.pk)
    return render(request, "chat/room_join.html", {"has_area": cell is not None})


@login_required
@require_POST
def block(request, resident_id: int):
    other = get_object_or_404(get_user_model(), pk=resident_id)
    try:
        services.block_create(blocker=request.user, blocked=other)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s is blocked: you will not hear from them.") % {"name": other})
    return redirect(_safe_next(request) or "chat:list")


@login_required
@require_POST
def unblock(request, resident_id: int):
    other = get_object_or_404(get_user_model(), pk=resident_id)
    services.block_remove(blocker=request.user, blocked=other)
    messages.success(request, _("%(name)s is no longer blocked.") % {"name": other})
    return redirect(_safe_next(request) or "chat:list")


def _safe_next(request) -> str | None:
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else None


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=Reason.choices)
    note = forms.CharField(
        label=gettext_lazy("Anything the moderators should know"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
def report(request, message_id: int):
    message = get_object_or_404(Message.objects.select_related("conversation", "sender"), pk=message_id)
    if not selectors.is_member(request.user, message.conversation):
        raise PermissionDenied(_("You cannot report a message you cannot see."))
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.message_report(reporter=request.user, message_id=message.pk, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Thank you. The moderators will look at this message."))
            return redirect(reverse("chat:conversation", args=[message.conversation_id]))
    return render(request, "chat/report.html", {"form": form, "message": message})
