"""The trust API: residency, vouches and recognitions, the ladder, deals, reviews, pledge claims and
shops' reputation. Views validate input with plain serializers and call one service or selector."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Resident
from apps.core.api import ErrorSerializer, cursor_page
from apps.market.models import Stall
from apps.shops import pledges
from apps.shops.models import Shop

from . import rules, selectors, services
from .models import PledgeClaim, Review

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


def unverified_limits() -> list[str]:
    """What residents cannot do before their residency is verified (shown on pages and in the API)."""
    return [
        _("Post in the neighbourhood room (you can read it)"),
        _("Vouch for neighbours"),
        _("Write reviews after a deal"),
    ]


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


# --- Residency ---------------------------------------------------------------------------------------


class LetterSerializer(serializers.Serializer):
    status = serializers.CharField()
    requested_at = serializers.DateTimeField(source="created_at")
    printed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    attempts_left = serializers.SerializerMethodField()

    def get_attempts_left(self, letter) -> int:
        return max(0, rules.LETTER_MAX_ATTEMPTS - letter.attempts)


class ResidencySerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    verified_at = serializers.DateTimeField(allow_null=True)
    method = serializers.CharField(allow_null=True, help_text="letter, vouches or granted (by a moderator)")
    has_home = serializers.BooleanField()
    letter = LetterSerializer(allow_null=True)
    vouches = serializers.IntegerField(help_text="Vouches that count now")
    vouches_needed = serializers.IntegerField(help_text="2, or 1 where fewer than 3 verified neighbours live around")
    vouchers = PersonSerializer(many=True)
    unverified_cannot = serializers.ListField(child=serializers.CharField())


def _residency_data(resident) -> dict:
    status_ = selectors.residency_status(resident=resident)
    return {
        "verified": status_.verified,
        "verified_at": status_.verified_at,
        "method": status_.method,
        "has_home": status_.has_home,
        "letter": status_.letter,
        "vouches": status_.vouches,
        "vouches_needed": status_.vouches_needed,
        "vouchers": status_.vouchers,
        "unverified_cannot": unverified_limits(),
    }


class ResidencyApi(APIView):
    @extend_schema(responses=ResidencySerializer, summary="Your residency: verified or not, and how to get there")
    def get(self, request):
        return Response(ResidencySerializer(_residency_data(request.user)).data)


class LetterRequestSerializer(serializers.Serializer):
    postal_address = serializers.CharField(max_length=rules.ADDRESS_MAX_LENGTH)


class ResidencyLetterApi(APIView):
    @extend_schema(
        request=LetterRequestSerializer,
        responses={201: ResidencySerializer, **ERRORS},
        summary="Ask for a letter with a code (the address is erased once the letter is done with)",
    )
    def post(self, request):
        data = LetterRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.residency_letter_request(resident=request.user, postal_address=data.validated_data["postal_address"])
        return Response(ResidencySerializer(_residency_data(request.user)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ResidencySerializer, **ERRORS}, summary="Cancel your letter request")
    def delete(self, request):
        services.residency_letter_cancel(resident=request.user)
        return Response(ResidencySerializer(_residency_data(request.user)).data)


class CodeSerializer(serializers.Serializer):
    # Not "code": error bodies already carry a `code` key (apps.core.api).
    letter_code = serializers.CharField(max_length=20)


class ResidencyCodeApi(APIView):
    @extend_schema(
        request=CodeSerializer,
        responses={200: ResidencySerializer, 410: ErrorSerializer, 429: ErrorSerializer, **ERRORS},
        summary="Enter the code from your letter (5 tries; codes expire 30 days after printing)",
    )
    def post(self, request):
        data = CodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.residency_code_enter(resident=request.user, code=data.validated_data["letter_code"])
        return Response(ResidencySerializer(_residency_data(request.user)).data)


class PrivacySerializer(serializers.Serializer):
    share_acquaintances = serializers.BooleanField(
        help_text="Whether neighbours may see your name among “neighbours you both know”"
    )


class PrivacyApi(APIView):
    @extend_schema(responses=PrivacySerializer, summary="Your acquaintance privacy preference")
    def get(self, request):
        return Response({"share_acquaintances": request.user.share_acquaintances})

    @extend_schema(request=PrivacySerializer, responses={200: PrivacySerializer, 400: ErrorSerializer})
    def put(self, request):
        data = PrivacySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.acquaintance_privacy_set(resident=request.user, share=data.validated_data["share_acquaintances"])
        return Response({"share_acquaintances": request.user.share_acquaintances})


# --- The ladder, vouches, recognitions ----------------------------------------------------------------------


class MutualSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    names = serializers.ListField(child=serializers.CharField())
    hidden = serializers.IntegerField(help_text="Counted but not named (they or this resident keep names private)")


class AcquaintanceSerializer(serializers.Serializer):
    resident = PersonSerializer()
    verified = serializers.BooleanField()
    level = serializers.CharField(help_text="stranger, nodding, semi or trusted")
    label = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    chats = serializers.IntegerField()
    bought = serializers.IntegerField()
    sold = serializers.IntegerField()
    vouched_by_you = serializers.BooleanField()
    vouched_by_them = serializers.BooleanField()
    recognised_by_you = serializers.BooleanField()
    recognised_by_them = serializers.BooleanField()
    mutual = MutualSerializer()


def _acquaintance_data(viewer, other) -> dict:
    a = selectors.acquaintance(viewer=viewer, other=other)
    mutual = selectors.mutual_neighbours(viewer=viewer, other=other)
    return {
        "resident": other,
        "verified": other.is_verified_resident,
        "level": a.level.key,
        "label": a.level.label,
        "reasons": a.reasons,
        "chats": a.chats,
        "bought": a.bought,
        "sold": a.sold,
        "vouched_by_you": a.vouched_by_viewer,
        "vouched_by_them": a.vouched_by_other,
        "recognised_by_you": a.recognised_by_viewer,
        "recognised_by_them": a.recognised_by_other,
        "mutual": {"count": mutual.count, "names": mutual.names, "hidden": mutual.hidden},
    }


def _resident(pk: int) -> Resident:
    return get_object_or_404(Resident, pk=pk, is_active=True)


class AcquaintanceApi(APIView):
    @extend_schema(
        responses={200: AcquaintanceSerializer, 404: ErrorSerializer},
        summary="How you and this resident know each other: the ladder level and its reasons",
    )
    def get(self, request, pk: int):
        return Response(AcquaintanceSerializer(_acquaintance_data(request.user, _resident(pk))).data)


class VouchApi(APIView):
    @extend_schema(
        request=None,
        responses={201: AcquaintanceSerializer, 429: ErrorSerializer, **ERRORS},
        summary="Vouch for a neighbour living in or next to your area (verified residents; 3 a week)",
    )
    def post(self, request, pk: int):
        other = _resident(pk)
        services.vouch_give(voucher=request.user, vouchee=other)
        other.refresh_from_db()  # a vouch may have verified them
        return Response(AcquaintanceSerializer(_acquaintance_data(request.user, other)).data, status=201)

    @extend_schema(request=None, responses={200: AcquaintanceSerializer, **ERRORS}, summary="Withdraw your vouch")
    def delete(self, request, pk: int):
        other = _resident(pk)
        services.vouch_withdraw(voucher=request.user, vouchee=other)
        other.refresh_from_db()  # a withdrawal may have cost them their residency
        return Response(AcquaintanceSerializer(_acquaintance_data(request.user, other)).data)


class RecogniseApi(APIView):
    @extend_schema(
        request=None, responses={201: AcquaintanceSerializer, **ERRORS}, summary="“I recognise this neighbour”"
    )
    def post(self, request, pk: int):
        other = _resident(pk)
        services.recognition_confirm(resident=request.user, other=other)
        return Response(AcquaintanceSerializer(_acquaintance_data(request.user, other)).data, status=201)

    @extend_schema(request=None, responses={200: AcquaintanceSerializer, **ERRORS}, summary="Take it back")
    def delete(self, request, pk: int):
        other = _resident(pk)
        services.recognition_withdraw(resident=request.user, other=other)
        return Response(AcquaintanceSerializer(_acquaintance_data(request.user, other)).data)


# --- Deals -----------------------------------------------------------------------------------------------------


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deal = serializers.IntegerField(source="deal_id")
    direction = serializers.CharField(help_text="of_seller (public) or of_buyer (private)")
    author = PersonSerializer()
    shop = serializers.IntegerField(source="shop_id", allow_null=True)
    stars = serializers.IntegerField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    reply = serializers.CharField()
    replied_at = serializers.DateTimeField(allow_null=True)


class PublicReviewSerializer(ReviewSerializer):
    """Reviews as the public sees them: the deal stays private."""

    deal = None
    direction = None


class ClaimSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deal = serializers.IntegerField(source="deal_id")
    shop = serializers.IntegerField(source="shop_id")
    kind = serializers.CharField(source="pledge.kind")
    terms = serializers.DictField(source="pledge.terms")
    text = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    answer_by = serializers.SerializerMethodField(help_text="When it goes to the moderators if unanswered")
    answered_at = serializers.DateTimeField(allow_null=True)
    answer_reason = serializers.CharField()
    disputed_at = serializers.DateTimeField(allow_null=True)
    dispute_text = serializers.CharField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    escalation = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution_reason = serializers.CharField()

    def get_answer_by(self, claim) -> str | None:
        if claim.status != PledgeClaim.Status.OPEN:
            return None
        return serializers.DateTimeField().to_representation(selectors.claim_deadline(claim))


class DealSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stall = serializers.IntegerField(source="stall_id", allow_null=True)
    title = serializers.CharField()
    seller = PersonSerializer()
    shop = serializers.IntegerField(source="shop_id", allow_null=True)
    buyer = PersonSerializer()
    conversation = serializers.IntegerField(source="conversation_id", allow_null=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    quantity = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    reviews = serializers.SerializerMethodField()
    claims = ClaimSerializer(many=True, source="claims.all")

    @extend_schema_field(ReviewSerializer(many=True))
    def get_reviews(self, deal) -> list:
        # Reviews hidden by moderation are left out, here as everywhere they are shown.
        return ReviewSerializer([r for r in deal.reviews.all() if r.hidden_at is None], many=True).data


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 30


class DealMarkSerializer(serializers.Serializer):
    conversation = serializers.IntegerField(help_text="The conversation with the buyer the sale is marked from")
    stall = serializers.IntegerField(required=False, help_text="Default: the stall the conversation is about")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True)
    quantity = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=1)


class DealListApi(APIView):
    @extend_schema(
        responses=cursor_page(DealSerializer),
        operation_id="trust_deals_list",
        summary="Your deals, as buyer or seller, newest first",
    )
    def get(self, request):
        paginator = NewestFirst()
        page = paginator.paginate_queryset(selectors.deals_for(resident=request.user), request, view=self)
        return paginator.get_paginated_response(DealSerializer(page, many=True).data)

    @extend_schema(
        request=DealMarkSerializer,
        responses={201: DealSerializer, **ERRORS},
        summary="Mark a sale to the person you talked with; they are asked to confirm",
    )
    def post(self, request):
        data = DealMarkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        stall = get_object_or_404(Stall, pk=d["stall"]) if d.get("stall") else None
        deal = services.deal_mark(
            seller=request.user,
            conversation_id=d["conversation"],
            stall=stall,
            price=d.get("price"),
            quantity=d["quantity"],
        )
        return Response(DealSerializer(deal).data, status=201)


class DealDetailApi(APIView):
    @extend_schema(responses={200: DealSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, pk: int):
        return Response(DealSerializer(selectors.deal_get_for_party(deal_id=pk, resident=request.user)).data)


def _deal_action_api(name: str, service, summary: str):
    class DealActionApi(APIView):
        @extend_schema(request=None, responses={200: DealSerializer, **ERRORS}, summary=summary)
        def post(self, request, pk: int):
            deal = selectors.deal_get_for_party(deal_id=pk, resident=request.user)
            service(request.user, deal)
            return Response(DealSerializer(selectors.deal_get_for_party(deal_id=pk, resident=request.user)).data)

    DealActionApi.__name__ = DealActionApi.__qualname__ = name
    return DealActionApi


DealConfirmApi = _deal_action_api(
    "DealConfirmApi", lambda me, deal: services.deal_confirm(buyer=me, deal=deal), "The buyer confirms the deal"
)
DealDeclineApi = _deal_action_api(
    "DealDeclineApi", lambda me, deal: services.deal_decline(buyer=me, deal=deal), "The buyer declines the deal"
)
DealCancelApi = _deal_action_api(
    "DealCancelApi",
    lambda me, deal: services.deal_cancel(seller=me, deal=deal),
    "The seller cancels an unconfirmed deal",
)


# --- Reviews -------------------------------------------------------------------------------------------------


class ReviewWriteSerializer(serializers.Serializer):
    stars = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DealReviewApi(APIView):
    @extend_schema(
        request=ReviewWriteSerializer,
        responses={201: ReviewSerializer, **ERRORS},
        summary="Review the other side of a confirmed deal (once; verified residents)",
    )
    def post(self, request, pk: int):
        deal = selectors.deal_get_for_party(deal_id=pk, resident=request.user)
        data = ReviewWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_write(author=request.user, deal=deal, **data.validated_data)
        return Response(ReviewSerializer(review).data, status=201)


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class ReviewReplyApi(APIView):
    @extend_schema(
        request=ReplySerializer,
        responses={200: PublicReviewSerializer, **ERRORS},
        summary="A shop replies, once and publicly, to a review of it",
    )
    def post(self, request, pk: int):
        review = get_object_or_404(Review.objects.select_related("shop", "author"), pk=pk)
        data = ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_reply(actor=request.user, review=review, text=data.validated_data["text"])
        return Response(PublicReviewSerializer(review).data)


class ShopReviewListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=cursor_page(PublicReviewSerializer), summary="Buyers' public reviews of a shop")
    def get(self, request, pk: int):
        shop = get_object_or_404(Shop, pk=pk)
        paginator = NewestFirst()
        page = paginator.paginate_queryset(selectors.reviews_public_of_shop(shop=shop), request, view=self)
        return paginator.get_paginated_response(PublicReviewSerializer(page, many=True).data)


class ResidentReviewListApi(APIView):
    @extend_schema(
        responses=cursor_page(PublicReviewSerializer), summary="Buyers' public reviews of a resident as a seller"
    )
    def get(self, request, pk: int):
        paginator = NewestFirst()
        qs = selectors.reviews_public_of_resident(resident=_resident(pk))
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(PublicReviewSerializer(page, many=True).data)


# --- Pledge claims -------------------------------------------------------------------------------------------


class ClaimOpenSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(pledges.CATALOGUE))
    text = serializers.CharField(max_length=2000)


class DealClaimApi(APIView):
    @extend_schema(
        request=ClaimOpenSerializer,
        responses={201: ClaimSerializer, **ERRORS},
        summary="Invoke a pledge the shop had in force when you bought, within its window",
    )
    def post(self, request, pk: int):
        deal = selectors.deal_get_for_party(deal_id=pk, resident=request.user)
        data = ClaimOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_open(buyer=request.user, deal=deal, **data.validated_data)
        return Response(ClaimSerializer(claim).data, status=201)


class ClaimListApi(APIView):
    @extend_schema(
        responses=cursor_page(ClaimSerializer),
        operation_id="trust_claims_list",
        summary="Claims you made, and claims on shops you run",
    )
    def get(self, request):
        paginator = NewestFirst()
        page = paginator.paginate_queryset(selectors.claims_for(resident=request.user), request, view=self)
        return paginator.get_paginated_response(ClaimSerializer(page, many=True).data)


class ClaimDetailApi(APIView):
    @extend_schema(responses={200: ClaimSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, pk: int):
        return Response(ClaimSerializer(selectors.claim_get_for_party(claim_id=pk, resident=request.user)).data)


class ClaimAnswerSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ClaimAnswerApi(APIView):
    @extend_schema(
        request=ClaimAnswerSerializer,
        responses={200: ClaimSerializer, **ERRORS},
        summary="The shop honours the claim, or rejects it with a reason",
    )
    def post(self, request, pk: int):
        claim = selectors.claim_get_for_party(claim_id=pk, resident=request.user)
        data = ClaimAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_answer(actor=request.user, claim=claim, **data.validated_data)
        return Response(ClaimSerializer(claim).data)


class ClaimDisputeSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class ClaimDisputeApi(APIView):
    @extend_schema(
        request=ClaimDisputeSerializer,
        responses={200: ClaimSerializer, **ERRORS},
        summary="The buyer disputes a rejection: the claim goes to the moderators",
    )
    def post(self, request, pk: int):
        claim = selectors.claim_get_for_party(claim_id=pk, resident=request.user)
        data = ClaimDisputeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = services.claim_dispute(buyer=request.user, claim=claim, text=data.validated_data["text"])
        return Response(ClaimSerializer(claim).data)


# --- Reputation --------------------------------------------------------------------------------------------------


class ReputationLineSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    points = serializers.FloatField()


class ReputationSerializer(serializers.Serializer):
    shop = serializers.IntegerField()
    score = serializers.FloatField(help_text="0–100; 50 for a shop with no history (docs/trust.md)")
    stored_score = serializers.FloatField(help_text="What the feed uses; recomputed after every change")
    tier = serializers.CharField()
    rating = serializers.FloatField(help_text="Smoothed stars")
    raw_rating = serializers.FloatField(allow_null=True)
    reviewers = serializers.IntegerField()
    deals_counted = serializers.IntegerField()
    customers_90d = serializers.IntegerField()
    repeaters_90d = serializers.IntegerField()
    repeat_rate = serializers.FloatField(allow_null=True)
    honoured = serializers.IntegerField()
    broken = serializers.IntegerField()
    penalty_points = serializers.IntegerField(help_text="Moderation's penalty points in force")
    why = ReputationLineSerializer(many=True)


def reputation_data(shop: Shop) -> dict:
    r = selectors.reputation_explain(shop=shop)
    return {
        "shop": shop.pk,
        "score": r.score,
        "stored_score": shop.reputation,
        "tier": r.tier,
        "rating": r.rating,
        "raw_rating": r.raw_rating,
        "reviewers": r.reviewers,
        "deals_counted": r.deals_counted,
        "customers_90d": r.customers_90d,
        "repeaters_90d": r.repeaters_90d,
        "repeat_rate": r.repeat_rate,
        "honoured": r.honoured,
        "broken": r.broken,
        "penalty_points": r.penalty_points,
        "why": r.lines,
    }


class ShopReputationApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: ReputationSerializer, 404: ErrorSerializer},
        summary="A shop's reputation score and why: rating, deals, repeat customers, pledges, sanctions",
    )
    def get(self, request, pk: int):
        return Response(ReputationSerializer(reputation_data(get_object_or_404(Shop, pk=pk))).data)
