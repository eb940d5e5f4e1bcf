from django.urls import path

from . import api

urlpatterns = [
    path("trust/residency/", api.ResidencyApi.as_view(), name="api-trust-residency"),
    path("trust/residency/letter/", api.ResidencyLetterApi.as_view(), name="api-trust-letter"),
    path("trust/residency/code/", api.ResidencyCodeApi.as_view(), name="api-trust-code"),
    path("trust/privacy/", api.PrivacyApi.as_view(), name="api-trust-privacy"),
    path("trust/residents/<int:pk>/", api.AcquaintanceApi.as_view(), name="api-trust-acquaintance"),
    path("trust/residents/<int:pk>/vouch/", api.VouchApi.as_view(), name="api-trust-vouch"),
    path("trust/residents/<int:pk>/recognise/", api.RecogniseApi.as_view(), name="api-trust-recognise"),
    path("trust/residents/<int:pk>/reviews/", api.ResidentReviewListApi.as_view(), name="api-trust-resident-reviews"),
    path("trust/deals/", api.DealListApi.as_view(), name="api-trust-deals"),
    path("trust/deals/<int:pk>/", api.DealDetailApi.as_view(), name="api-trust-deal"),
    path("trust/deals/<int:pk>/confirm/", api.DealConfirmApi.as_view(), name="api-trust-deal-confirm"),
    path("trust/deals/<int:pk>/decline/", api.DealDeclineApi.as_view(), name="api-trust-deal-decline"),
    path("trust/deals/<int:pk>/cancel/", api.DealCancelApi.as_view(), name="api-trust-deal-cancel"),
    path("trust/deals/<int:pk>/reviews/", api.DealReviewApi.as_view(), name="api-trust-deal-review"),
    path("trust/deals/<int:pk>/claims/", api.DealClaimApi.as_view(), name="api-trust-deal-claim"),
    path("trust/reviews/<int:pk>/reply/", api.ReviewReplyApi.as_view(), name="api-trust-review-reply"),
    path("trust/claims/", api.ClaimListApi.as_view(), name="api-trust-claims"),
    path("trust/claims/<int:pk>/", api.ClaimDetailApi.as_view(), name="api-trust-claim"),
    path("trust/claims/<int:pk>/answer/", api.ClaimAnswerApi.as_view(), name="api-trust-claim-answer"),
    path("trust/claims/<int:pk>/dispute/", api.ClaimDisputeApi.as_view(), name="api-trust-claim-dispute"),
    path("trust/shops/<int:pk>/reviews/", api.ShopReviewListApi.as_view(), name="api-trust-shop-reviews"),
    path("trust/shops/<int:pk>/reputation/", api.ShopReputationApi.as_view(), name="api-trust-shop-reputation"),
]
