from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.services import near_me_now_origin
from apps.core.api import ErrorSerializer
from apps.core.errors import DomainError, NotAllowed
from apps.nearby import geo
from apps.shops.categories import Category
from apps.shops.models import Shop
from apps.shops.selectors import pledge_badges

from . import selectors, services
from .models import Stall


class PledgeBadgeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    summary = serializers.CharField()
    terms = serializers.DictField()


class StallShopSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_verified = serializers.BooleanField()
    pledges = serializers.SerializerMethodField()

    @extend_schema(responses=PledgeBadgeSerializer(many=True))
    def get_pledges(self, shop) -> list:
        return [{"kind": b.kind, "summary": b.summary, "terms": b.terms} for b in pledge_badges(shop=shop)]


class StallSellerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class StallLocationSerializer(serializers.Serializer):
    """A shop's stall: its exact point. A resident's stall: only the outline of the seller's area."""

    exact = serializers.BooleanField()
    lat = serializers.FloatField(required=False)
    lng = serializers.FloatField(required=False)
    area = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), required=False)


class StallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    category = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    quantity = serializers.IntegerField()
    starts_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    seller = StallSellerSerializer()
    shop = StallShopSerializer(allow_null=True)
    photos = serializers.SerializerMethodField()
    distance_m = serializers.SerializerMethodField(help_text="Metres to a shop's stall; a coarse step to a resident's")
    location = serializers.SerializerMethodField()
    is_new = serializers.BooleanField(required=False, default=False)

    @extend_schema(responses=serializers.ListField(child=serializers.URLField()))
    def get_photos(self, stall) -> list[str]:
        request = self.context.get("request")
        urls = [p.image.url for p in stall.photos_in_order()]
        return [request.build_absolute_uri(u) for u in urls] if request else urls

    def get_distance_m(self, stall) -> int | None:
        return selectors.stall_shown_distance_m(stall)

    @extend_schema(responses=StallLocationSerializer)
    def get_location(self, stall) -> dict:
        if stall.location_is_exact:
            return {"exact": True, "lat": stall.lat, "lng": stall.lng}
        cell = geo.cell_of(stall.lat, stall.lng, settings.JIEFANG_HOME_RESOLUTION)
        return {"exact": False, "area": [list(p) for p in geo.cell_boundary(cell)]}


class FeedQuerySerializer(serializers.Serializer):
    radius_m = serializers.IntegerField(
        min_value=settings.JIEFANG_RADIUS_MIN_M, max_value=settings.JIEFANG_RADIUS_MAX_M, required=False
    )
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False)
    kind = serializers.ChoiceField(choices=Stall.Kind.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    free = serializers.BooleanField(required=False, default=False)
    price_min = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, required=False)
    price_max = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, required=False)
    q = serializers.CharField(max_length=100, required=False, allow_blank=True)
    seller = serializers.ChoiceField(choices=[("shops", "shops"), ("neighbours", "neighbours")], required=False)
    cursor = serializers.CharField(max_length=200, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, required=False, default=20)

    def validate(self, data):
        if ("lat" in data) != ("lng" in data):
            raise serializers.ValidationError({"lat": "Give both lat and lng, or neither."})
        lo, hi = data.get("price_min"), data.get("price_max")
        if lo is not None and hi is not None and lo > hi:
            raise serializers.ValidationError({"price_max": "price_max must not be below price_min."})
        return data

    def filters(self) -> selectors.FeedFilters:
        d = self.validated_data
        return selectors.FeedFilters(
            kind=d.get("kind"),
            category=d.get("category"),
            free_only=d.get("free", False),
            price_min=d.get("price_min"),
            price_max=d.get("price_max"),
            q=d.get("q", "").strip(),
            seller=d.get("seller"),
        )


class FeedPageSerializer(serializers.Serializer):
    results = StallSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    radius_m = serializers.IntegerField()


def feed_origin(user, lat, lng):
    """Where the feed is measured from: a one-off position (snapped, never stored), else home."""
    if lat is not None:
        return near_me_now_origin(viewer=user, lat=lat, lng=lng)
    if user.is_authenticated and user.point is not None:
        return user.point
    return geo.Point(*settings.JIEFANG_DEFAULT_CENTER)


class StallFeedApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[FeedQuerySerializer],
        responses={200: FeedPageSerializer, 400: ErrorSerializer},
        summary="The nearby feed",
        description="Open stalls within the radius of your home area (or of `lat`/`lng`, snapped and never "
        "stored), ranked by km + days of age. Visitors who are not logged in see shops' stalls only.",
    )
    def get(self, request):
        query = FeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        d = query.validated_data
        user = request.user
        radius = d.get("radius_m") or (user.radius_m if user.is_authenticated else settings.JIEFANG_RADIUS_DEFAULT_M)
        page = selectors.stalls_feed(
            origin=feed_origin(user, d.get("lat"), d.get("lng")),
            radius_m=radius,
            viewer=user,
            filters=query.filters(),
            cursor=d.get("cursor"),
            limit=d["limit"],
        )
        data = StallSerializer(page.items, many=True, context={"request": request}).data
        return Response({"results": data, "next_cursor": page.next_cursor, "radius_m": radius})


class StallWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Stall.Kind.choices)
    title = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=Category.choices, default=Category.OTHER)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    currency = serializers.ChoiceField(choices=[("CNY", "CNY")], default="CNY")
    quantity = serializers.IntegerField(min_value=1, max_value=9999, default=1)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    shop = serializers.IntegerField(required=False, allow_null=True, help_text="Post as this shop (owner or staff)")
    photos = serializers.ListField(child=serializers.FileField(), required=False, max_length=6, default=list)


class StallListApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": StallWriteSerializer, "application/json": StallWriteSerializer},
        responses={201: StallSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
        summary="Publish a stall",
    )
    def post(self, request):
        body = StallWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = dict(body.validated_data)
        shop_id = d.pop("shop", None)
        shop = None
        if shop_id is not None:
            shop = Shop.objects.filter(pk=shop_id).first()
            if shop is None:
                raise DomainError("No such shop.", field="shop")
        stall = services.stall_publish(seller=request.user, shop=shop, **d)
        stall = selectors.stall_get_for_viewer(stall_id=stall.pk, viewer=request.user)
        return Response(StallSerializer(stall, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=StallSerializer(many=True), summary="Your stalls, newest first")
    def get(self, request):
        stalls = selectors.stalls_of_seller(seller=request.user)[:200]
        return Response(StallSerializer(stalls, many=True, context={"request": request}).data)


class StallUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=80, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    quantity = serializers.IntegerField(min_value=1, max_value=9999, required=False)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False)


class StallDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: StallSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, pk: int):
        stall = selectors.stall_get_for_viewer(stall_id=pk, viewer=request.user)
        return Response(StallSerializer(stall, context={"request": request}).data)

    @extend_schema(
        request=StallUpdateSerializer,
        responses={200: StallSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer},
    )
    def patch(self, request, pk: int):
        if not request.user.is_authenticated:
            raise NotAllowed("Log in to change a stall.")
        stall = get_object_or_404(Stall, pk=pk)
        body = StallUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.stall_update(stall=stall, actor=request.user, **body.validated_data)
        stall = selectors.stall_get_for_viewer(stall_id=pk, viewer=request.user)
        return Response(StallSerializer(stall, context={"request": request}).data)


class RenewSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


def _status_api(action_name: str, service, summary: str):
    class StatusApi(APIView):
        @extend_schema(
            request=RenewSerializer if action_name == "renew" else None,
            responses={200: StallSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
            summary=summary,
            operation_id=f"stalls_{action_name}",
        )
        def post(self, request, pk: int):
            stall = get_object_or_404(Stall, pk=pk)
            kwargs = {}
            if action_name == "renew":
                body = RenewSerializer(data=request.data)
                body.is_valid(raise_exception=True)
                kwargs["expires_at"] = body.validated_data.get("expires_at")
            service(stall=stall, actor=request.user, **kwargs)
            stall = selectors.stall_get_for_viewer(stall_id=pk, viewer=request.user)
            return Response(StallSerializer(stall, context={"request": request}).data)

    StatusApi.__name__ = f"Stall{action_name.title()}Api"
    return StatusApi


StallReserveApi = _status_api("reserve", services.stall_reserve, "Mark a stall reserved")
StallReopenApi = _status_api("reopen", services.stall_reopen, "Open a reserved stall again")
StallCloseApi = _status_api("close", services.stall_close, "Close a stall")
StallRenewApi = _status_api("renew", services.stall_renew, "Renew a stall (new expiry, fresh in the feed)")


class PhotosSerializer(serializers.Serializer):
    photos = serializers.ListField(child=serializers.FileField(), min_length=1, max_length=6)


class StallPhotosApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(request=PhotosSerializer, responses={200: StallSerializer, 400: ErrorSerializer})
    def post(self, request, pk: int):
        stall = get_object_or_404(Stall, pk=pk)
        body = PhotosSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.stall_photos_add(stall=stall, actor=request.user, photos=body.validated_data["photos"])
        stall = selectors.stall_get_for_viewer(stall_id=pk, viewer=request.user)
        return Response(StallSerializer(stall, context={"request": request}).data)


class StallPhotoDeleteApi(APIView):
    @extend_schema(responses={204: None, 403: ErrorSerializer, 404: ErrorSerializer})
    def delete(self, request, pk: int, photo_id: int):
        stall = get_object_or_404(Stall, pk=pk)
        services.stall_photo_remove(stall=stall, actor=request.user, photo_id=photo_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
