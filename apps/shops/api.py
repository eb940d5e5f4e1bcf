"""The shops' REST API: thin views that validate input, call one service or selector, and render.

Anyone may read shops (a QR scan lands visitors here too); only the owner changes a shop, which the
services enforce (403). `is_verified` is read-only: only a moderator's verification sets it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Resident
from apps.core.api import ErrorSerializer
from apps.nearby import geo

from . import pledges, qr, selectors, services
from .categories import Category
from .models import Shop, ShopPledge

# --- Serializers ------------------------------------------------------------------------------


class PledgeBadgeSerializer(serializers.Serializer):
    pledge_id = serializers.IntegerField(help_text="The pledge row: its terms never change (claims point at it)")
    kind = serializers.ChoiceField(choices=pledges.kind_choices())
    title = serializers.CharField()
    summary = serializers.CharField(help_text="Short words for a badge")
    description = serializers.CharField(help_text="The promise in full, in the reader's language")
    terms = serializers.DictField()


class PhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    image = serializers.ImageField(use_url=True)
    position = serializers.IntegerField()


class SpanSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday")
    opens = serializers.TimeField(format="%H:%M")
    closes = serializers.TimeField(format="%H:%M", help_text="After `opens`; 23:59 means until midnight")


class OpenStateSerializer(serializers.Serializer):
    is_open = serializers.BooleanField()
    local_time = serializers.SerializerMethodField()
    closes_at = serializers.TimeField(format="%H:%M", allow_null=True)
    opens_at = serializers.TimeField(format="%H:%M", allow_null=True, help_text="Next opening later today")

    def get_local_time(self, state) -> str:
        return state.local_now.isoformat(timespec="minutes")


class ShopCardSerializer(serializers.Serializer):
    """A shop in a list. Shops are public places: their exact point and distance are shown."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    address = serializers.CharField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    distance_m = serializers.SerializerMethodField()
    is_verified = serializers.BooleanField(read_only=True)
    open_now = serializers.SerializerMethodField()
    photo = serializers.SerializerMethodField()
    pledges = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The shop's public page")

    def get_distance_m(self, shop) -> int | None:
        d = getattr(shop, "distance_m", None)
        return None if d is None else round(d)

    def get_open_now(self, shop) -> bool:
        return selectors.shop_open_now(shop)

    def get_photo(self, shop) -> str | None:
        photo = next(iter(shop.photos.all()), None)
        if photo is None:
            return None
        return self.context["request"].build_absolute_uri(photo.image.url)

    @extend_schema_field(PledgeBadgeSerializer(many=True))
    def get_pledges(self, shop) -> list:
        return [b.__dict__ for b in selectors.pledge_badges(shop=shop)]

    def get_url(self, shop) -> str:
        return self.context["request"].build_absolute_uri(reverse("shops:detail", args=[shop.pk]))


class ShopSerializer(ShopCardSerializer):
    description = serializers.CharField()
    phone = serializers.CharField()
    contact_note = serializers.CharField()
    time_zone = serializers.CharField()
    verified_at = serializers.DateTimeField(read_only=True, allow_null=True)
    licence_number = serializers.SerializerMethodField(help_text="Shown to the owner only")
    followers_count = serializers.IntegerField()
    is_following = serializers.SerializerMethodField()
    is_owner = serializers.SerializerMethodField()
    open_state = serializers.SerializerMethodField()
    photos = PhotoSerializer(many=True, source="photos.all")
    hours = SpanSerializer(many=True, source="hours.all")
    created_at = serializers.DateTimeField()

    def _is_owner(self, shop) -> bool:
        return selectors.shop_is_owner(shop=shop, resident=self.context["request"].user)

    def get_licence_number(self, shop) -> str | None:
        return shop.licence_number if self._is_owner(shop) else None

    def get_is_following(self, shop) -> bool:
        return bool(getattr(shop, "viewer_follows", False))

    def get_is_owner(self, shop) -> bool:
        return self._is_owner(shop)

    @extend_schema_field(OpenStateSerializer())
    def get_open_state(self, shop) -> dict:
        return OpenStateSerializer(selectors.shop_open_state(shop)).data


class ShopWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    category = serializers.ChoiceField(choices=Category.choices)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    contact_note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    time_zone = serializers.CharField(max_length=64, required=False, help_text="IANA name, e.g. Asia/Shanghai")
    licence_number = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="Changing it takes the verified badge away"
    )
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text="The shop's exact, public point")
    lng = serializers.FloatField(min_value=-180, max_value=180)

    def validate(self, data):
        if self.partial and ("lat" in data) != ("lng" in data):
            raise serializers.ValidationError({"lat": [_("Give both lat and lng, or neither.")]})
        return data


class NearbyQuerySerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False)
    radius_m = serializers.IntegerField(
        min_value=settings.JIEFANG_RADIUS_MIN_M, max_value=settings.JIEFANG_RADIUS_MAX_M, required=False
    )
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    cursor = serializers.CharField(max_length=200, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=20)

    def validate(self, data):
        if ("lat" in data) != ("lng" in data):
            raise serializers.ValidationError({"lat": [_("Give both lat and lng, or neither.")]})
        return data


class ShopPageSerializer(serializers.Serializer):
    results = ShopCardSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    radius_m = serializers.IntegerField()


class HoursSerializer(serializers.Serializer):
    hours = SpanSerializer(many=True, help_text="The whole week; replaces the old hours at once")


class ExceptionSerializer(serializers.Serializer):
    date = serializers.DateField()
    closed = serializers.BooleanField()
    opens = serializers.TimeField(format="%H:%M", required=False, allow_null=True)
    closes = serializers.TimeField(format="%H:%M", required=False, allow_null=True)
    note = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class TermSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    minimum = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False)
    maximum = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False)
    default = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False)
    unit = serializers.CharField()
    is_money = serializers.BooleanField()


class PledgeKindSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.SerializerMethodField(help_text="With the default terms")
    terms = TermSerializer(many=True)

    def get_description(self, kind) -> str:
        return kind.describe(kind.default_terms())


class PledgeTakeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=pledges.kind_choices())
    terms = serializers.DictField(required=False, help_text="Named numbers within the catalogue's limits")


class PledgeRecordSerializer(serializers.Serializer):
    """A pledge row as a claim will cite it: its terms as taken, and when it held."""

    id = serializers.IntegerField()
    shop = serializers.IntegerField(source="shop_id")
    kind = serializers.CharField()
    terms = serializers.DictField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    description = serializers.SerializerMethodField()

    def get_description(self, pledge) -> str | None:
        entry = pledges.describe(pledge)
        return entry["terms"] if entry else None


class StaffSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(max_length=150)
    display_name = serializers.CharField(read_only=True)


# --- Helpers ----------------------------------------------------------------------------------


def _shop(pk: int) -> Shop:
    return get_object_or_404(Shop, pk=pk)


def _detail(request, pk: int, code=status.HTTP_200_OK) -> Response:
    shop = get_object_or_404(selectors.shops_with_details(viewer=request.user), pk=pk)
    return Response(ShopSerializer(shop, context={"request": request}).data, status=code)


NOT_OWNER = {403: OpenApiResponse(ErrorSerializer, description="Not the shop's owner"), 404: ErrorSerializer}


# --- Shops ------------------------------------------------------------------------------------


class ShopListApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        parameters=[NearbyQuerySerializer],
        responses={200: ShopPageSerializer, 400: ErrorSerializer},
        summary="Shops nearby",
        operation_id="shops_nearby",
        description="Shops within `radius_m` of `lat`/`lng` (or of your home area), nearest first, with their "
        "exact distance. Continue with `cursor` from the last page.",
    )
    def get(self, request):
        query = NearbyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        d = query.validated_data
        user = request.user
        if "lat" in d:
            origin = geo.Point(d["lat"], d["lng"])
        elif user.is_authenticated and user.point is not None:
            origin = user.point
        else:
            origin = geo.Point(*settings.JIEFANG_DEFAULT_CENTER)
        radius = d.get("radius_m") or (user.radius_m if user.is_authenticated else settings.JIEFANG_RADIUS_DEFAULT_M)
        page = selectors.shops_nearby_page(
            origin=origin, radius_m=radius, cursor=d.get("cursor"), limit=d["limit"], category=d.get("category")
        )
        data = ShopCardSerializer(page.items, many=True, context={"request": request}).data
        return Response({"results": data, "next_cursor": page.next_cursor, "radius_m": radius})

    @extend_schema(
        request=ShopWriteSerializer,
        responses={201: ShopSerializer, 400: ErrorSerializer},
        summary="Register a shop",
        description="The shop starts unverified; a moderator verifies it after checking the licence.",
    )
    def post(self, request):
        body = ShopWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        shop = services.shop_register(owner=request.user, **body.validated_data)
        return _detail(request, shop.pk, status.HTTP_201_CREATED)


class ShopMineApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ShopCardSerializer(many=True), summary="Shops you own or work at")
    def get(self, request):
        shops = selectors.shops_of_resident(resident=request.user).prefetch_related(*selectors.shop_card_prefetches())
        return Response(ShopCardSerializer(shops, many=True, context={"request": request}).data)


class ShopDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses={200: ShopSerializer, 404: ErrorSerializer}, summary="A shop")
    def get(self, request, pk: int):
        return _detail(request, pk)

    @extend_schema(
        request=ShopWriteSerializer(partial=True),
        responses={200: ShopSerializer, 400: ErrorSerializer, **NOT_OWNER},
        summary="Change a shop (owner)",
    )
    def patch(self, request, pk: int):
        shop = _shop(pk)
        body = ShopWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.shop_update(shop=shop, by=request.user, **body.validated_data)
        return _detail(request, pk)

    @extend_schema(
        responses={204: None, 409: ErrorSerializer, **NOT_OWNER},
        summary="Remove a shop (owner)",
        description="Refused (409) while the shop has open or reserved stalls.",
    )
    def delete(self, request, pk: int):
        services.shop_delete(shop=_shop(pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadSerializer(serializers.Serializer):
    image = serializers.FileField()


class ShopPhotosApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    parser_classes = [MultiPartParser]

    @extend_schema(responses={200: PhotoSerializer(many=True), 404: ErrorSerializer}, summary="A shop's photos")
    def get(self, request, pk: int):
        return Response(PhotoSerializer(_shop(pk).photos.all(), many=True, context={"request": request}).data)

    @extend_schema(
        request=UploadSerializer,
        responses={201: PhotoSerializer, 400: ErrorSerializer, **NOT_OWNER},
        summary="Add a photo (owner)",
        description=f"JPEG, PNG, WebP or GIF; re-encoded without metadata. At most {services.MAX_PHOTOS} photos.",
    )
    def post(self, request, pk: int):
        body = UploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        photo = services.shop_photo_add(shop=_shop(pk), by=request.user, upload=body.validated_data["image"])
        return Response(PhotoSerializer(photo, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ShopPhotoDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None, **NOT_OWNER}, summary="Remove a photo (owner)")
    def delete(self, request, pk: int, photo_id: int):
        photo = get_object_or_404(_shop(pk).photos.select_related("shop"), pk=photo_id)
        services.shop_photo_remove(photo=photo, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Hours ------------------------------------------------------------------------------------


class ShopHoursApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses={200: HoursSerializer, 404: ErrorSerializer}, summary="Weekly opening hours")
    def get(self, request, pk: int):
        return Response({"hours": SpanSerializer(_shop(pk).hours.all(), many=True).data})

    @extend_schema(
        request=HoursSerializer,
        responses={200: HoursSerializer, 400: ErrorSerializer, **NOT_OWNER},
        summary="Set the week's hours (owner)",
        description="Replaces all spans at once. Refused with nothing changed when spans of a day overlap or "
        "one closes before it opens.",
    )
    def put(self, request, pk: int):
        shop = _shop(pk)
        body = HoursSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        spans = [services.Span(s["weekday"], s["opens"], s["closes"]) for s in body.validated_data["hours"]]
        rows = services.shop_hours_set(shop=shop, by=request.user, spans=spans)
        return Response({"hours": SpanSerializer(rows, many=True).data})


class ShopExceptionsApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses={200: ExceptionSerializer(many=True)}, summary="Coming exceptions to the hours")
    def get(self, request, pk: int):
        shop = _shop(pk)
        rows = shop.exceptions.filter(date__gte=services.shop_today(shop))
        return Response(ExceptionSerializer(rows, many=True).data)

    @extend_schema(
        request=ExceptionSerializer,
        responses={200: ExceptionSerializer, 400: ErrorSerializer, **NOT_OWNER},
        summary="Set the hours of one date (owner)",
        description="Closed all day, or open from `opens` to `closes`; replaces any exception of that date.",
    )
    def post(self, request, pk: int):
        body = ExceptionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.shop_exception_set(shop=_shop(pk), by=request.user, **body.validated_data)
        return Response(ExceptionSerializer(row).data)


class ShopExceptionDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None, **NOT_OWNER}, summary="Remove the exception of a date (owner)")
    def delete(self, request, pk: int, date: str):
        day = serializers.DateField().to_internal_value(date)
        services.shop_exception_remove(shop=_shop(pk), by=request.user, date=day)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Pledges ----------------------------------------------------------------------------------


class PledgeCatalogueApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PledgeKindSerializer(many=True), summary="The pledges a shop may take")
    def get(self, request):
        return Response(PledgeKindSerializer(pledges.CATALOGUE.values(), many=True).data)


class ShopPledgesApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        responses={200: PledgeBadgeSerializer(many=True), 404: ErrorSerializer}, summary="A shop's active pledges"
    )
    def get(self, request, pk: int):
        return Response([b.__dict__ for b in selectors.pledge_badges(shop=_shop(pk))])

    @extend_schema(
        request=PledgeTakeSerializer,
        responses={201: PledgeRecordSerializer, 400: ErrorSerializer, **NOT_OWNER},
        summary="Take a pledge (owner)",
        description="With other terms than the active pledge of the kind, that one is withdrawn and a new row "
        "starts: rows never change.",
    )
    def post(self, request, pk: int):
        body = PledgeTakeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pledge = services.pledge_take(
            shop=_shop(pk), by=request.user, kind=body.validated_data["kind"], terms=body.validated_data.get("terms")
        )
        return Response(PledgeRecordSerializer(pledge).data, status=status.HTTP_201_CREATED)


class ShopPledgeDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PledgeRecordSerializer, **NOT_OWNER}, summary="Withdraw a pledge (owner)")
    def delete(self, request, pk: int, pledge_id: int):
        pledge = get_object_or_404(ShopPledge.objects.select_related("shop"), pk=pledge_id, shop_id=pk)
        services.pledge_withdraw(pledge=pledge, by=request.user)
        return Response(PledgeRecordSerializer(pledge).data)


class PledgeRecordApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: PledgeRecordSerializer, 404: ErrorSerializer},
        summary="One pledge row, active or withdrawn",
        description="What a claim cites: the terms exactly as the shop took them, and when they held.",
    )
    def get(self, request, pledge_id: int):
        return Response(PledgeRecordSerializer(get_object_or_404(ShopPledge, pk=pledge_id)).data)


# --- Following and staff ----------------------------------------------------------------------


class FollowStateSerializer(serializers.Serializer):
    following = serializers.BooleanField()
    followers_count = serializers.IntegerField()


class ShopFollowApi(APIView):
    permission_classes = [IsAuthenticated]

    def _state(self, shop: Shop, following: bool) -> Response:
        return Response({"following": following, "followers_count": shop.follows.count()})

    @extend_schema(request=None, responses={200: FollowStateSerializer, 400: ErrorSerializer}, summary="Follow")
    def post(self, request, pk: int):
        shop = _shop(pk)
        services.shop_follow(shop=shop, resident=request.user)
        return self._state(shop, True)

    @extend_schema(responses={200: FollowStateSerializer}, summary="Unfollow")
    def delete(self, request, pk: int):
        shop = _shop(pk)
        services.shop_unfollow(shop=shop, resident=request.user)
        return self._state(shop, False)


class ShopStaffApi(APIView):
    permission_classes = [IsAuthenticated]

    def _list(self, shop: Shop) -> Response:
        return Response(StaffSerializer(shop.staff.order_by("display_name"), many=True).data)

    @extend_schema(responses={200: StaffSerializer(many=True), **NOT_OWNER}, summary="The shop's staff (owner)")
    def get(self, request, pk: int):
        shop = _shop(pk)
        if not selectors.shop_is_owner(shop=shop, resident=request.user):
            raise services.NotShopOwner(_("Only the shop's owner may see its staff."))
        return self._list(shop)

    @extend_schema(
        request=StaffSerializer,
        responses={200: StaffSerializer(many=True), 400: ErrorSerializer, **NOT_OWNER},
        summary="Add a helper by username (owner)",
        description="Staff may post stalls for the shop; only the owner changes the shop.",
    )
    def post(self, request, pk: int):
        shop = _shop(pk)
        body = StaffSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        resident = Resident.objects.filter(username__iexact=body.validated_data["username"]).first()
        if resident is None:
            raise services.NotFound(_("There is no neighbour with this username."), field="username")
        services.shop_staff_add(shop=shop, by=request.user, resident=resident)
        return self._list(shop)


class ShopStaffDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None, **NOT_OWNER}, summary="Remove a helper (owner)")
    def delete(self, request, pk: int, resident_id: int):
        resident = get_object_or_404(Resident, pk=resident_id)
        services.shop_staff_remove(shop=_shop(pk), by=request.user, resident=resident)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- QR codes ---------------------------------------------------------------------------------


class _QrApi(APIView):
    """Owner only: the poster is for the shop's counter. The code opens the shop's public page."""

    permission_classes = [IsAuthenticated]
    kind = ""
    content_type = ""

    def get(self, request, pk: int):
        shop = _shop(pk)
        if not selectors.shop_is_owner(shop=shop, resident=request.user):
            raise services.NotShopOwner(_("Only the shop's owner prints its QR code."))
        shop = selectors.shop_detail(pk=pk)
        url = qr.shop_public_url(shop, request)
        content = {
            "qr.png": lambda: qr.qr_png(url),
            "qr.svg": lambda: qr.qr_svg(url, title=shop.name),
            "poster.pdf": lambda: qr.poster_pdf(shop, url),
            "poster.png": lambda: qr.poster_png(shop, url),
        }[self.kind]()
        response = HttpResponse(content, content_type=self.content_type)
        response["Content-Disposition"] = f'inline; filename="jiefang-shop-{shop.pk}-{self.kind.replace(".", "-")}"'
        return response


def _qr_schema(summary: str, media: str):
    return extend_schema(
        summary=summary,
        responses={
            (200, media): OpenApiTypes.BINARY,
            (403, "application/json"): ErrorSerializer,
            (404, "application/json"): ErrorSerializer,
        },
        parameters=[OpenApiParameter("pk", int, OpenApiParameter.PATH)],
    )


@_qr_schema("QR code of the shop page (PNG)", "image/png")
class ShopQrPngApi(_QrApi):
    kind, content_type = "qr.png", "image/png"


@_qr_schema("QR code of the shop page (SVG)", "image/svg+xml")
class ShopQrSvgApi(_QrApi):
    kind, content_type = "qr.svg", "image/svg+xml"


@_qr_schema("Printable A4 poster with the QR code (PDF)", "application/pdf")
class ShopPosterPdfApi(_QrApi):
    kind, content_type = "poster.pdf", "application/pdf"


@_qr_schema("Printable A4 poster with the QR code (PNG, 150 dpi)", "image/png")
class ShopPosterPngApi(_QrApi):
    kind, content_type = "poster.png", "image/png"
