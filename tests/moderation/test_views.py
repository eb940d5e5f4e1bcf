from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.moderation import notify, services
from apps.moderation.models import Appeal, Case, Decision, Report
from tests.market.factories import make_shop, publish
from tests.moderation.factories import moderator, neighbour, reported_enough

pytestmark = pytest.mark.django_db


def test_report_links_on_stall_and_resident_pages_but_not_for_ones_own(client):
    stall = publish()
    other = neighbour()
    client.force_login(other)
    page = client.get(reverse("market:stall_detail", args=[stall.pk])).content.decode()
    assert reverse("moderation:report", args=["stall", stall.pk]) in page
    page = client.get(reverse("accounts:resident_detail", args=[stall.seller.pk])).content.decode()
    assert reverse("moderation:report", args=["resident", stall.seller.pk]) in page
    client.force_login(stall.seller)
    page = client.get(reverse("market:stall_detail", args=[stall.pk])).content.decode()
    assert 'data-testid="report-link"' not in page
    page = client.get(reverse("accounts:resident_detail", args=[stall.seller.pk])).content.decode()
    assert 'data-testid="report-link"' not in page


def test_report_form_files_a_report_and_shows_it_on_my_reports(client):
    stall = publish(title="Too good to be true")
    reporter = neighbour()
    client.force_login(reporter)
    url = reverse("moderation:report", args=["stall", stall.pk])
    assert "Too good to be true" in client.get(url).content.decode()
    response = client.post(url, {"reason": "scam", "note": "Asked for a deposit"}, follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("moderation:my_reports")
    assert "Too good to be true" in body and "Waiting for a moderator" in body
    again = client.post(url, {"reason": "scam"})
    assert again.status_code == 200 and "already reported" in again.content.decode()
    assert Report.objects.count() == 1
    bad = client.post(reverse("moderation:report", args=["stall", stall.pk + 1000]), {"reason": "scam"})
    assert bad.status_code == 404
    assert client.get(reverse("moderation:report", args=["planet", 1])).status_code == 404


def test_report_needs_login(client):
    stall = publish()
    response = client.get(reverse("moderation:report", args=["stall", stall.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_seller_of_a_hidden_stall_is_told_and_can_appeal_the_decision(client):
    stall = publish()
    reported_enough(stall)
    client.force_login(stall.seller)
    page = client.get(reverse("market:stall_detail", args=[stall.pk])).content.decode()
    assert 'data-testid="hidden-notice"' in page
    decision = services.case_decide(case=Case.objects.get(), moderator=moderator(), action="hide", reason="Fake brand")
    page = client.get(reverse("moderation:decisions")).content.decode()
    assert "Fake brand" in page and reverse("moderation:appeal", args=[decision.pk]) in page
    response = client.post(
        reverse("moderation:appeal", args=[decision.pk]), {"text": "It is the real brand, bought in a shop."}
    )
    assert response.status_code == 302
    assert Appeal.objects.get().decision == decision
    page = client.get(reverse("moderation:decisions")).content.decode()
    assert 'data-testid="appeal-status"' in page and 'data-testid="appeal-link"' not in page
    # Someone else's decision is not theirs to appeal.
    client.force_login(neighbour())
    assert client.get(reverse("moderation:appeal", args=[decision.pk])).status_code == 404


def test_a_banned_resident_appeals_through_the_e_mailed_link(client, django_capture_on_commit_callbacks):
    person = neighbour()
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.resident_ban_for(resident=person, moderator=moderator(), reason="Repeated threats")
    assert len(mail.outbox) == 1
    link = notify.appeal_token(decision)
    url = reverse("moderation:appeal_by_link", args=[link])
    assert url in mail.outbox[0].body
    assert client.get(url).status_code == 200
    response = client.post(url, {"text": "Someone else used my phone that night."})
    assert response.status_code == 200 and "with the moderators" in response.content.decode()
    assert Appeal.objects.get().appellant == person
    assert client.get(reverse("moderation:appeal_by_link", args=[link + "x"])).status_code == 400


def test_an_expired_link_or_window_is_refused(client):
    person = neighbour()
    decision = services.resident_suspend_for(resident=person, moderator=moderator(), days=2, reason="Insulting")
    Decision.objects.filter(pk=decision.pk).update(created_at=timezone.now() - timedelta(days=15))
    client.force_login(person)
    response = client.post(reverse("moderation:appeal", args=[decision.pk]), {"text": "Please reconsider this one"})
    assert response.status_code == 200 and "14 days" in response.content.decode()
    assert not Appeal.objects.exists()


def test_shop_sanctions_show_through_the_include():
    from django.template import Context, Template

    shop = make_shop()
    html = Template("{% load moderation %}{% shop_sanctions shop %}").render(Context({"shop": shop}))
    assert "shop-sanctions" not in html  # a clean shop shows nothing
    stall = publish(shop=shop)
    reported_enough(stall)
    services.case_decide(case=Case.objects.get(), moderator=moderator(), action="warn", reason="Sold past date")
    html = Template("{% load moderation %}{% shop_sanctions shop %}").render(Context({"shop": shop}))
    assert "shop-sanctions" in html and "Warning" in html and "False advertising" in html


def test_the_shop_page_shows_recent_sanctions_and_a_report_link(client):
    shop = make_shop(name="Lucky Fruit")
    stall = publish(shop=shop)
    reported_enough(stall)
    url = reverse("shops:detail", args=[shop.pk])
    client.force_login(neighbour())
    page = client.get(url).content.decode()
    assert 'data-testid="shop-sanctions"' not in page
    assert reverse("moderation:report", args=["shop", shop.pk]) in page
    services.case_decide(case=Case.objects.get(), moderator=moderator(), action="points", reason="Dyed oranges", tier=1)
    page = client.get(url).content.decode()
    assert 'data-testid="shop-sanctions"' in page and "3 penalty points" in page
    client.force_login(shop.owner)
    assert 'data-testid="report-link"' not in client.get(url).content.decode()


def test_decision_e_mails_follow_the_preference_but_a_ban_is_always_e_mailed(django_capture_on_commit_callbacks):
    from apps.notifications.services import preferences_update

    person = neighbour()
    preferences_update(resident=person, email_moderation=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.resident_suspend_for(resident=person, moderator=moderator(), days=2, reason="Spam in the room")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.resident_ban_for(resident=person, moderator=moderator(), reason="Spam again after it")
    assert len(mail.outbox) == 1 and "/moderation/appeal/" in mail.outbox[0].body
