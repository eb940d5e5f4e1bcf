from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import ErrorSerializer, cursor_page

from . import notify, selectors, services, targets
from .models import Reason

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class ModerationReportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(targets.TARGETS), help_text="What is reported")
    object_id = serializers.IntegerField(min_value=1, help_text="The id of the stall, shop, resident or chat message")
    reason = serializers.ChoiceField(choices=Reason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ModerationReport(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(source="case.kind")
    object_id = serializers.IntegerField()
    title = serializers.CharField(source="case.title")
    reason = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    outcome = serializers.SerializerMethodField(
        help_text="pending | hidden_pending_review | action_taken | no_action",
    )

    def get_outcome(self, report) -> str:
        return selectors.report_outcome(report)


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 30


class ReportFileApi(APIView):
    @extend_schema(
        summary="Report a stall, a shop or a person to the area's moderators",
        description="One report per reporter per object. Reports are weighted by the reporter's standing; "
        "enough weight hides the object pending review.",
        request=ModerationReportInput,
        responses={201: ModerationReport, 429: ErrorSerializer, **ERRORS},
    )
    def post(self, request):
        data = ModerationReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_file(reporter=request.user, **data.validated_data)
        return Response(ModerationReport(report).data, status=status.HTTP_201_CREATED)


class ReportListApi(APIView):
    @extend_schema(
        summary="My reports and their outcomes, newest first",
        responses=cursor_page(ModerationReport),
        operation_id="reports_mine_list",
    )
    def get(self, request):
        paginator = NewestFirst()
        page = paginator.paginate_queryset(selectors.reports_of(reporter=request.user), request, view=self)
        return paginator.get_paginated_response(ModerationReport(page, many=True).data)


class ModerationDecision(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    about = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    reason = serializers.CharField()
    shop_id = serializers.IntegerField(allow_null=True)
    points = serializers.IntegerField()
    until = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    appeal_until = serializers.SerializerMethodField()
    can_appeal = serializers.SerializerMethodField()
    appeal = serializers.SerializerMethodField()

    def get_about(self, decision) -> str:
        return notify.subject_phrase(decision)

    def get_text(self, decision) -> str:
        return notify.decision_phrase(decision)

    def get_appeal_until(self, decision) -> str | None:
        if not selectors.decision_is_appealable(decision):
            return None
        return serializers.DateTimeField().to_representation(selectors.decision_appeal_deadline(decision))

    def get_can_appeal(self, decision) -> bool:
        return selectors.decision_can_appeal_now(decision)

    @extend_schema(responses=serializers.DictField(allow_null=True))
    def get_appeal(self, decision) -> dict | None:
        if not selectors.hasattr_appeal(decision):
            return None
        appeal = decision.appeal
        return {"id": appeal.pk, "status": appeal.status, "answer": appeal.answer}


class DecisionListApi(APIView):
    @extend_schema(
        summary="Moderation decisions about me and my shops, newest first",
        responses=cursor_page(ModerationDecision),
        operation_id="moderation_decisions_list",
    )
    def get(self, request):
        paginator = NewestFirst()
        page = paginator.paginate_queryset(selectors.decisions_about(resident=request.user), request, view=self)
        return paginator.get_paginated_response(ModerationDecision(page, many=True).data)


class ModerationAppealInput(serializers.Serializer):
    text = serializers.CharField(max_length=2000, help_text="Why the decision is wrong (at least 10 characters)")


class ModerationAppeal(serializers.Serializer):
    id = serializers.IntegerField()
    decision_id = serializers.IntegerField()
    status = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class AppealFileApi(APIView):
    @extend_schema(
        summary="Appeal a decision: once, within 14 days",
        request=ModerationAppealInput,
        responses={201: ModerationAppeal, **ERRORS},
    )
    def post(self, request, pk: int):
        decision = get_object_or_404(selectors.decisions_about(resident=request.user), pk=pk)
        data = ModerationAppealInput(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = services.appeal_file(decision=decision, appellant=request.user, text=data.validated_data["text"])
        return Response(ModerationAppeal(appeal).data, status=status.HTTP_201_CREATED)
