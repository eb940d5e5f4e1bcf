"""A resident downloads everything the site holds about them, and deletes their account."""

import json

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse

from apps.accounts import personal_data, services
from apps.accounts.models import Resident
from apps.chat.models import Message
from apps.moderation.models import Report
from apps.notifications.models import Notification
from apps.shops import services as shops
from apps.shops.models import ShopFollow
from apps.shops.personal_data import OwnsShops
from apps.trust import services as trust
from apps.trust.models import Deal, ResidencyLetter, Review
from tests.accounts.factories import JINGAN, TEST_PASSWORD
from tests.market.factories import photo, publish
from tests.moderation.factories import report
from tests.shops.factories import ShopFactory
from tests.trust.factories import deal, neighbour

pytestmark = pytest.mark.django_db(transaction=True)  # files are removed on commit


@pytest.fixture
def life():
    """A resident with something in every app: a stall with a photo, a follow, a conversation, a
    deal with a review, a report, a residency letter, notifications."""
    me = neighbour(verified=True, display_name="Ah Mei", bio="Dumplings on Sundays")
    seller = neighbour(verified=True)
    stall = publish(me, title="Bamboo steamer", photos=[photo()])
    bought = publish(seller, title="Rice cooker")
    made = deal(bought, me)
    trust.review_write(author=me, deal=made, stars=5, text="Lovely cooker, kind seller")
    shops.shop_follow(shop=ShopFactory(), resident=me)
    report(publish(seller, title="Fake watch"), by=me, note="Looks counterfeit to me")
    me_letter = neighbour(verified=False, username="hopeful")
    trust.residency_letter_request(resident=me_letter, postal_address="12 Yuyuan Road, flat 3")
    return {"me": me, "seller": seller, "stall": stall, "deal": made, "hopeful": me_letter}


def test_every_app_that_keeps_data_about_residents_has_a_part():
    holding = {
        model._meta.app_config.label
        for model in apps.get_models()
        if model._meta.app_config.name.startswith("apps.")
        and any(
            getattr(f, "related_model", None) is not None and f.related_model._meta.label == settings.AUTH_USER_MODEL
            for f in model._meta.get_fields()
            if f.is_relation and f.concrete
        )
    }
    assert holding <= set(personal_data.parts())
    assert {"accounts", "market", "shops", "chat", "trust", "moderation", "notifications"} <= set(personal_data.parts())


def test_the_export_holds_every_part(life):
    me = life["me"]
    data = services.resident_export(resident=me)
    assert data["accounts"]["display_name"] == "Ah Mei"
    assert data["accounts"]["home_area"] and "lat" not in json.dumps(data["accounts"])
    assert [s["title"] for s in data["market"]["stalls"]] == ["Bamboo steamer"]
    assert data["market"]["stalls"][0]["photos"][0]
    assert len(data["shops"]["follows"]) == 1
    assert any(m["body"] == "Is it still available?" for m in data["chat"]["messages_sent"])
    assert data["trust"]["deals"][0]["as"] == "buyer"
    assert data["trust"]["reviews_written"][0]["text"] == "Lovely cooker, kind seller"
    assert data["moderation"]["reports_filed"][0]["note"] == "Looks counterfeit to me"
    assert "notifications" in data["notifications"]
    letters = services.resident_export(resident=life["hopeful"])["trust"]["residency_letters"]
    assert letters[0]["postal_address"] == "12 Yuyuan Road, flat 3"


def test_the_resident_downloads_json_and_reads_html(client, life):
    client.force_login(life["me"])
    download = client.get(reverse("accounts:my_data_json"))
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["accounts"]["bio"] == "Dumplings on Sundays"
    page = client.get(reverse("accounts:my_data_html")).content.decode()
    assert "Bamboo steamer" in page and "Lovely cooker, kind seller" in page


def test_deleting_the_account_erases_what_is_theirs_and_strips_what_others_keep(client, life):
    me, seller = life["me"], life["seller"]
    photo_name = life["stall"].photos.get().image.name
    assert default_storage.exists(photo_name)
    messages_before = Message.objects.count()
    client.force_login(me)

    refused = client.post(reverse("accounts:my_data"), {"password": "not-it"})
    assert refused.status_code == 200 and Resident.objects.get(pk=me.pk).is_active

    done = client.post(reverse("accounts:my_data"), {"password": TEST_PASSWORD})
    assert done.status_code == 302
    erased = Resident.objects.get(pk=me.pk)
    assert not erased.is_active and not erased.has_usable_password()
    assert erased.display_name == "Former neighbour" and erased.bio == "" and erased.email.endswith("@invalid")
    assert erased.home_cell is None and erased.lat is None and erased.lng is None
    # Their own public content is gone, photo file included.
    assert not erased.stalls.exists() and not default_storage.exists(photo_name)
    assert not ShopFollow.objects.filter(resident=erased).exists()
    assert not Notification.objects.filter(recipient=erased).exists()
    # The seller keeps the conversation and the deal; the buyer's words are gone.
    assert Message.objects.count() == messages_before
    assert set(Message.objects.filter(sender=erased).values_list("body", flat=True)) == {""}
    kept = Deal.objects.get(pk=life["deal"].pk)
    assert kept.buyer_id == erased.pk and kept.seller_id == seller.pk
    review = Review.objects.get(author=erased)
    assert review.stars == 5 and review.text == ""
    assert Report.objects.get(reporter=erased).note == ""
    # Signed out, and the account cannot sign in again.
    assert client.get(reverse("accounts:profile")).status_code == 302
    again = client.post(reverse("accounts:login"), {"username": me.username, "password": TEST_PASSWORD})
    assert again.status_code == 200  # the form again: no such account any more


def test_residency_letters_and_their_addresses_are_erased(life):
    hopeful = life["hopeful"]
    services.resident_erase(resident=hopeful, password=TEST_PASSWORD)
    assert not ResidencyLetter.objects.filter(resident=hopeful).exists()


def test_a_shop_owner_hands_the_shop_over_first_and_nothing_is_erased():
    owner = neighbour(verified=True, bio="Corner shop owner")
    ShopFactory(owner=owner)
    with pytest.raises(OwnsShops) as refused:
        services.resident_erase(resident=owner, password=TEST_PASSWORD)
    assert refused.value.code == "owns_shops" and refused.value.status_code == 409
    owner.refresh_from_db()
    assert owner.is_active and owner.bio == "Corner shop owner"


def test_the_page_offers_both(client):
    client.force_login(neighbour(home=JINGAN))
    page = client.get(reverse("accounts:my_data")).content.decode()
    assert reverse("accounts:my_data_json") in page and reverse("accounts:my_data_html") in page
