"""Trust pages: verified residency, deals, reviews and pledge claims. Each write is one service call;
a broken rule comes back as a form error or a message, with nothing changed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.models import Resident
from apps.chat import selectors as chat_selectors
from apps.core.errors import DomainError
from apps.market.models import Stall
from apps.shops.models import ShopPledge

from . import selectors, services
from .forms import (
    AnswerForm,
    ClaimForm,
    CodeForm,
    DealMarkForm,
    DisputeForm,
    LetterRequestForm,
    PrivacyForm,
    ReplyForm,
    ReviewForm,
)
from .models import Deal, PledgeClaim, Review


def _form_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _refuse(exc: DomainError):
    """A 403-class domain error on a page is a plain Forbidden; others are shown to the user."""
    if exc.status_code == 403:
        raise PermissionDenied(exc.message) from None


def _back(request, default: str, *args):
    target = request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default, *args)


# --- Verified residency ------------------------------------------------------------------------------


def _residency_page(request, status=200, **forms):
    resident = request.user
    context = {
        "status": selectors.residency_status(resident=resident),
        "letter_form": forms.get("letter_form") or LetterRequestForm(),
        "code_form": forms.get("code_form") or CodeForm(),
        "privacy_form": forms.get("privacy_form")
        or PrivacyForm(initial={"share_acquaintances": resident.share_acquaintances}),
        "history": selectors.residency_history(resident=resident)[:10],
    }
    return render(request, "trust/residency.html", context, status=status)


@login_required
def residency(request):
    return _residency_page(request)


@login_required
@require_POST
def letter_request(request):
    form = LetterRequestForm(request.POST)
    if form.is_valid():
        try:
            services.residency_letter_request(resident=request.user, postal_address=form.cleaned_data["postal_address"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Your letter is requested. A moderator will post it soon."))
            return redirect("trust:residency")
    return _residency_page(request, letter_form=form)


@login_required
@require_POST
def letter_cancel(request):
    try:
        services.residency_letter_cancel(resident=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your letter request is cancelled and the address erased."))
    return redirect("trust:residency")


@login_required
@require_POST
def code_enter(request):
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            services.residency_code_enter(resident=request.user, code=form.cleaned_data["letter_code"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Your residency is verified. Welcome, neighbour!"))
            return redirect("trust:residency")
    return _residency_page(request, code_form=form)


@login_required
@require_POST
def privacy(request):
    form = PrivacyForm(request.POST)
    if form.is_valid():
        services.acquaintance_privacy_set(resident=request.user, share=form.cleaned_data["share_acquaintances"])
        messages.success(request, _("Saved."))
    return redirect("trust:residency")


# --- Vouches and recognitions (buttons on profiles) --------------------------------------------------


def _profile_action(request, pk: int, service, done: str, **kwargs):
    other = get_object_or_404(Resident, pk=pk)
    try:
        service(other=other, **kwargs)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("accounts:resident_detail", pk=pk)


@login_required
@require_POST
def vouch(request, pk: int):
    return _profile_action(
        request,
        pk,
        lambda other: services.vouch_give(voucher=request.user, vouchee=other),
        _("You vouch for this neighbour now."),
    )


@login_required
@require_POST
def unvouch(request, pk: int):
    return _profile_action(
        request,
        pk,
        lambda other: services.vouch_withdraw(voucher=request.user, vouchee=other),
        _("Your vouch is withdrawn."),
    )


@login_required
@require_POST
def recognise(request, pk: int):
    return _profile_action(
        request,
        pk,
        lambda other: services.recognition_confirm(resident=request.user, other=other),
        _("Noted: you recognise this neighbour."),
    )


@login_required
@require_POST
def unrecognise(request, pk: int):
    return _profile_action(
        request,
        pk,
        lambda other: services.recognition_withdraw(resident=request.user, other=other),
        _("Taken back."),
    )


# --- Deals ---------------------------------------------------------------------------------------------


@login_required
def deal_list(request):
    deals = selectors.deals_for(resident=request.user)[:100]
    return render(
        request,
        "trust/deal_list.html",
        {"deals": deals, "claims": selectors.claims_for(resident=request.user)[:50]},
    )


@login_required
@require_POST
def deal_mark(request, conversation_id: int):
    conversation = chat_selectors.conversation_get_for_member(resident=request.user, conversation_id=conversation_id)
    stalls = selectors.stalls_sellable_in(conversation=conversation, resident=request.user)
    form = DealMarkForm(request.POST, stalls=stalls)
    if form.is_valid():
        d = form.cleaned_data
        stall = get_object_or_404(Stall, pk=d["stall"])
        try:
            deal = services.deal_mark(
                seller=request.user,
                conversation_id=conversation.pk,
                stall=stall,
                price=d["price"],
                quantity=d["quantity"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Sale marked. The buyer is asked to confirm it."))
            return redirect("trust:deal", pk=deal.pk)
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect("chat:conversation", pk=conversation.pk)


def _deal_page(request, deal: Deal, status=200, **forms):
    me = request.user
    is_buyer = deal.buyer_id == me.pk
    is_seller = selectors.acts_for_seller(resident=me, deal=deal)
    reviews = selectors.reviews_on_deal(deal=deal)
    mine = next(
        (
            r
            for r in reviews
            if (is_buyer and r.direction == Review.Direction.OF_SELLER)
            or (is_seller and r.direction == Review.Direction.OF_BUYER)
        ),
        None,
    )
    claimable = []
    if is_buyer and deal.is_confirmed and deal.shop_id:
        claimable = [
            p.kind
            for p in ShopPledge.objects.filter(shop=deal.shop).order_by("kind")
            if selectors.pledge_claimable(deal=deal, kind=p.kind)
        ]
    context = {
        "deal": deal,
        "is_buyer": is_buyer,
        "is_seller": is_seller,
        "reviews": reviews,
        "replyable": [r.pk for r in reviews if is_seller and selectors.review_can_reply(review=r, resident=me)],
        "can_review": deal.is_confirmed and (is_buyer or is_seller) and mine is None,
        "review_form": forms.get("review_form") or ReviewForm(),
        "claim_form": forms.get("claim_form") or (ClaimForm(kinds=claimable) if claimable else None),
        "claims": list(deal.claims.all()),
    }
    return render(request, "trust/deal_detail.html", context, status=status)


@login_required
def deal_detail(request, pk: int):
    return _deal_page(request, selectors.deal_get_for_party(deal_id=pk, resident=request.user))


DEAL_ACTIONS = {
    "confirm": (
        lambda me, deal: services.deal_confirm(buyer=me, deal=deal),
        gettext_lazy("Deal confirmed. You can review it now."),
    ),
    "decline": (lambda me, deal: services.deal_decline(buyer=me, deal=deal), gettext_lazy("Deal declined.")),
    "cancel": (lambda me, deal: services.deal_cancel(seller=me, deal=deal), gettext_lazy("Deal cancelled.")),
}


@login_required
@require_POST
def deal_action(request, pk: int, action: str):
    deal = selectors.deal_get_for_party(deal_id=pk, resident=request.user)
    if action not in DEAL_ACTIONS:
        raise PermissionDenied
    service, done = DEAL_ACTIONS[action]
    try:
        service(request.user, deal)
    except DomainError as exc:
        _refuse(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("trust:deal", pk=pk)


@login_required
@require_POST
def review_write(request, pk: int):
    deal = selectors.deal_get_for_party(deal_id=pk, resident=request.user)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.review_write(
                author=request.user, deal=deal, stars=form.cleaned_data["stars"], text=form.cleaned_data["text"]
            )
        except DomainError as exc:
            _refuse(exc)
            _form_error(form, exc)
        else:
            messages.success(request, _("Thank you: your review is saved."))
            return redirect("trust:deal", pk=pk)
    return _deal_page(request, deal, review_form=form)


@login_required
@require_POST
def review_reply(request, pk: int):
    review = get_object_or_404(Review.objects.select_related("shop"), pk=pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.review_reply(actor=request.user, review=review, text=form.cleaned_data["text"])
        except DomainError as exc:
            _refuse(exc)
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your reply is public now."))
    else:
        messages.error(request, _("Write a reply."))
    return _back(request, "trust:deal", review.deal_id)


# --- Pledge claims ---------------------------------------------------------------------------------------


@login_required
@require_POST
def claim_open(request, pk: int):
    deal = selectors.deal_get_for_party(deal_id=pk, resident=request.user)
    form = ClaimForm(request.POST)
    if form.is_valid():
        try:
            claim = services.claim_open(
                buyer=request.user, deal=deal, kind=form.cleaned_data["kind"], text=form.cleaned_data["text"]
            )
        except DomainError as exc:
            _refuse(exc)
            _form_error(form, exc)
        else:
            messages.success(request, _("Your claim is sent. The shop has 3 days to answer."))
            return redirect("trust:claim", pk=claim.pk)
    return _deal_page(request, deal, claim_form=form)


def _claim_page(request, claim: PledgeClaim, **forms):
    me = request.user
    is_shop = me.pk in selectors.shop_side_ids(claim.shop)
    return render(
        request,
        "trust/claim_detail.html",
        {
            "claim": claim,
            "is_buyer": claim.buyer_id == me.pk,
            "is_shop": is_shop,
            "deadline": selectors.claim_deadline(claim),
            "dispute_until": selectors.claim_dispute_until(claim),
            "answer_form": forms.get("answer_form") or AnswerForm(),
            "dispute_form": forms.get("dispute_form") or DisputeForm(),
        },
    )


@login_required
def claim_detail(request, pk: int):
    return _claim_page(request, selectors.claim_get_for_party(claim_id=pk, resident=request.user))


@login_required
@require_POST
def claim_answer(request, pk: int):
    claim = selectors.claim_get_for_party(claim_id=pk, resident=request.user)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.claim_answer(
                actor=request.user, claim=claim, accept=form.cleaned_data["accept"], reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            _refuse(exc)
            _form_error(form, exc)
        else:
            messages.success(request, _("Your answer is sent to the buyer."))
            return redirect("trust:claim", pk=pk)
    return _claim_page(request, claim, answer_form=form)


@login_required
@require_POST
def claim_dispute(request, pk: int):
    claim = selectors.claim_get_for_party(claim_id=pk, resident=request.user)
    form = DisputeForm(request.POST)
    if form.is_valid():
        try:
            services.claim_dispute(buyer=request.user, claim=claim, text=form.cleaned_data["text"])
        except DomainError as exc:
            _refuse(exc)
            _form_error(form, exc)
        else:
            messages.success(request, _("Your dispute is with the moderators now."))
            return redirect("trust:claim", pk=pk)
    return _claim_page(request, claim, dispute_form=form)
