from django.urls import path

from . import views

app_name = "trust"

urlpatterns = [
    path("residency/", views.residency, name="residency"),
    path("residency/letter/", views.letter_request, name="letter_request"),
    path("residency/letter/cancel/", views.letter_cancel, name="letter_cancel"),
    path("residency/code/", views.code_enter, name="code_enter"),
    path("privacy/", views.privacy, name="privacy"),
    path("residents/<int:pk>/vouch/", views.vouch, name="vouch"),
    path("residents/<int:pk>/unvouch/", views.unvouch, name="unvouch"),
    path("residents/<int:pk>/recognise/", views.recognise, name="recognise"),
    path("residents/<int:pk>/unrecognise/", views.unrecognise, name="unrecognise"),
    path("deals/", views.deal_list, name="deals"),
    path("deals/<int:pk>/", views.deal_detail, name="deal"),
    path("deals/<int:pk>/review/", views.review_write, name="review"),
    path("deals/<int:pk>/claim/", views.claim_open, name="claim_open"),
    path("deals/<int:pk>/<str:action>/", views.deal_action, name="deal_action"),
    path("conversations/<int:conversation_id>/deal/", views.deal_mark, name="deal_mark"),
    path("reviews/<int:pk>/reply/", views.review_reply, name="review_reply"),
    path("claims/<int:pk>/", views.claim_detail, name="claim"),
    path("claims/<int:pk>/answer/", views.claim_answer, name="claim_answer"),
    path("claims/<int:pk>/dispute/", views.claim_dispute, name="claim_dispute"),
]
