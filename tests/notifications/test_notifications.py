import pytest
from django.urls import reverse

from apps.notifications import services
from apps.notifications.kinds import Kind
from apps.notifications.models import Notification
from tests.accounts.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def _send(resident, **params):
    return services.notification_send(
        recipient_id=resident.pk,
        kind=Kind.STALL_FROM_FOLLOWED_SHOP,
        params={"shop": "老王水果", "title": "Fresh lychees", **params},
        url="/",
    )


def test_text_is_rendered_in_the_readers_language():
    r = ResidentFactory()
    n = _send(r)
    assert n.text == "老王水果 has a new stall: Fresh lychees"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        services.notification_send(recipient_id=ResidentFactory().pk, kind="nonsense")


def test_mark_read_is_only_for_the_recipient():
    owner, other = ResidentFactory(), ResidentFactory()
    n = _send(owner)
    with pytest.raises(services.NotificationNotFound):
        services.notification_mark_read(resident=other, notification_id=n.pk)
    services.notification_mark_read(resident=owner, notification_id=n.pk)
    n.refresh_from_db()
    assert n.read_at is not None


def test_send_many_once_per_recipient():
    a, b = ResidentFactory(), ResidentFactory()
    assert services.notification_send_many(recipient_ids=[a.pk, b.pk, a.pk], kind=Kind.RESIDENCY) == 2
    assert Notification.objects.count() == 2


def test_api_list_unread_and_read_all(api_client):
    r, other = ResidentFactory(), ResidentFactory()
    _send(r)
    _send(r)
    foreign = _send(other)
    api_client.force_authenticate(r)
    body = api_client.get("/api/notifications/").json()
    assert len(body["results"]) == 2
    assert api_client.get("/api/notifications/unread/").json() == {"unread": 2}
    assert api_client.post(f"/api/notifications/{foreign.pk}/read/").status_code == 404
    assert api_client.post("/api/notifications/read-all/").json() == {"unread": 0}
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_api_needs_login(api_client):
    assert api_client.get("/api/notifications/").status_code == 403


def test_bell_and_page(client):
    r = ResidentFactory()
    n = _send(r)
    client.force_login(r)
    html = client.get(reverse("notifications:list")).content.decode()
    assert "Fresh lychees" in html and 'data-testid="unread-count">1<' in html
    resp = client.post(reverse("notifications:open", args=[n.pk]))
    assert resp.status_code == 302
    assert 'data-testid="unread-count"' not in client.get(reverse("notifications:list")).content.decode()


def test_opening_someone_elses_notification_is_not_found(client):
    owner, other = ResidentFactory(), ResidentFactory()
    n = _send(owner)
    client.force_login(other)
    assert client.post(reverse("notifications:open", args=[n.pk])).status_code == 404
    assert client.post(reverse("notifications:open", args=[n.pk + 1000])).status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_open_refuses_offsite_redirects(client):
    r = ResidentFactory()
    n = services.notification_send(recipient_id=r.pk, kind=Kind.RESIDENCY, url="https://evil.example/")
    client.force_login(r)
    assert client.post(reverse("notifications:open", args=[n.pk])).url == reverse("notifications:list")


@pytest.fixture
def in_memory_layer(settings):
    """Looking inside the layer from this thread's several event loops needs the in-memory layer
    (the Redis pub/sub one keeps a connection per loop)."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_the_bell_hears_of_it_after_commit(django_capture_on_commit_callbacks, in_memory_layer):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from apps.chat.events import user_group

    r = ResidentFactory()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(r.pk), channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        n = _send(r)
    # two things wait for the commit: dropping the bell's kept count again, and the push
    assert len(callbacks) == 2  # nothing is pushed before the commit
    for callback in callbacks:
        callback()
    event = async_to_sync(layer.receive)(channel)
    assert event == {"type": "user.push", "event": {"type": "notification.created", "unread": 1}}
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_mark_read(resident=r, notification_id=n.pk)
    event = async_to_sync(layer.receive)(channel)
    assert event["event"] == {"type": "notification.read", "unread": 0}
    async_to_sync(layer.group_discard)(user_group(r.pk), channel)


def test_the_bells_count_is_kept_for_pages_and_dropped_by_every_change(django_assert_num_queries):
    from django.core.cache import cache

    from apps.notifications.selectors import notifications_unread_count, unread_cache_key

    r = ResidentFactory()
    cache.delete(unread_cache_key(r.pk))
    assert notifications_unread_count(resident=r) == 0
    with django_assert_num_queries(0):
        assert notifications_unread_count(resident=r) == 0  # kept
    first = _send(r)
    assert notifications_unread_count(resident=r) == 1
    services.notification_send_many(recipient_ids=[r.pk, ResidentFactory().pk], kind=Kind.STALL_FROM_FOLLOWED_SHOP)
    assert notifications_unread_count(resident=r) == 2
    services.notification_mark_read(resident=r, notification_id=first.pk)
    assert notifications_unread_count(resident=r) == 1
    services.notifications_mark_all_read(resident=r)
    assert notifications_unread_count(resident=r) == 0


def test_a_count_kept_by_a_page_during_the_write_is_dropped_once_committed(django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from apps.notifications.selectors import notifications_unread_count, unread_cache_key

    r = ResidentFactory()
    cache.delete(unread_cache_key(r.pk))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _send(r)
        # a page of another connection counted before this commit, and kept what it saw
        cache.set(unread_cache_key(r.pk), 0, 60)
    for callback in callbacks:
        callback()
    assert notifications_unread_count(resident=r) == 1
