from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ErrorSerializer
from apps.nearby import geo

from . import services
from .models import Resident


class AreaSerializer(serializers.Serializer):
    """A cell of the fixed grid, drawn as an outline: the only form a home takes outside the server."""

    cell = serializers.CharField(help_text="H3 cell id (hex)")
    boundary = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))

    @staticmethod
    def of(cell: int | None):
        if cell is None:
            return None
        return {"cell": format(cell, "x"), "boundary": [list(p) for p in geo.cell_boundary(cell)]}


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField(max_length=40, required=False)
    bio = serializers.CharField(max_length=280, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Resident.Language.choices, required=False)
    radius_m = serializers.IntegerField(
        min_value=settings.JIEFANG_RADIUS_MIN_M, max_value=settings.JIEFANG_RADIUS_MAX_M, required=False
    )
    avatar = serializers.ImageField(read_only=True, use_url=True)
    home_area = serializers.SerializerMethodField()

    @extend_schema(responses=AreaSerializer(allow_null=True))
    def get_home_area(self, obj) -> dict | None:
        return AreaSerializer.of(obj.home_cell)


class MeApi(APIView):
    @extend_schema(responses=MeSerializer, summary="Your own profile")
    def get(self, request):
        return Response(MeSerializer(request.user, context={"request": request}).data)

    @extend_schema(request=MeSerializer, responses={200: MeSerializer, 400: ErrorSerializer})
    def patch(self, request):
        serializer = MeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        resident = services.resident_profile_update(resident=request.user, **serializer.validated_data)
        return Response(MeSerializer(resident, context={"request": request}).data)


class PointSerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)


class MeHomeApi(APIView):
    @extend_schema(
        request=PointSerializer,
        responses={200: AreaSerializer, 400: ErrorSerializer},
        summary="Set your home area",
        description="The point is snapped to its grid cell on the server and dropped; only the cell is kept.",
    )
    def put(self, request):
        serializer = PointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resident = services.resident_home_set(resident=request.user, **serializer.validated_data)
        return Response(AreaSerializer.of(resident.home_cell))

    @extend_schema(responses={204: None}, summary="Forget your home area")
    def delete(self, request):
        services.resident_home_clear(resident=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AvatarSerializer(serializers.Serializer):
    avatar = serializers.FileField()


class MeAvatarApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(request=AvatarSerializer, responses={200: MeSerializer, 400: ErrorSerializer})
    def post(self, request):
        serializer = AvatarSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resident = services.resident_avatar_set(resident=request.user, upload=serializer.validated_data["avatar"])
        return Response(MeSerializer(resident, context={"request": request}).data)


class AreaSnapApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("lng", float, required=True),
        ],
        responses={200: AreaSerializer, 400: ErrorSerializer},
        summary="Preview the area a point would be snapped to",
    )
    def get(self, request):
        serializer = PointSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        cell = geo.cell_of(
            serializer.validated_data["lat"], serializer.validated_data["lng"], settings.JIEFANG_HOME_RESOLUTION
        )
        return Response(AreaSerializer.of(cell))


class ResidentCardSerializer(serializers.Serializer):
    """What anyone else may know of a resident: never a point, only a coarse distance."""

    id = serializers.IntegerField()
    display_name = serializers.CharField()
    bio = serializers.CharField()
    avatar = serializers.ImageField(use_url=True)
    coarse_distance_m = serializers.IntegerField(allow_null=True, help_text="Rounded up to a coarse step")


class ResidentDetailApi(APIView):
    @extend_schema(responses={200: ResidentCardSerializer, 404: ErrorSerializer})
    def get(self, request, pk: int):
        resident = get_object_or_404(Resident, pk=pk, is_active=True)
        distance = None
        if request.user.point and resident.point and resident.pk != request.user.pk:
            distance = geo.coarse_distance_m(geo.distance_m(request.user.point, resident.point))
        resident.coarse_distance_m = distance
        return Response(ResidentCardSerializer(resident, context={"request": request}).data)
