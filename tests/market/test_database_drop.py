"""Fault: the database connection drops in the middle of a request that writes several rows.

A real uvicorn server on the test PostgreSQL database. A resident publishes a stall with two photos
(the stall row, then one row per photo, in one transaction). The test holds a SHARE lock on the
photo table from a connection of its own, so the request stops exactly between the stall's row and
its photos' rows; it then ends that request's backend with pg_terminate_backend(pid), the pid read
from pg_stat_activity, as a database restart or a failover would.

Expected: a clean 503 with Retry-After (JSON for the API, the site's page for the form), no stall
and no photo row left behind, and the next request, on a new connection, publishes normally.
"""

import threading

import psycopg
import pytest
import requests
from django.urls import reverse

from apps.market.models import Stall, StallPhoto
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.processes import (
    database_url,
    free_port,
    require_postgresql,
    signed_in,
    start_uvicorn,
    stop,
    tail,
    wait_serving,
    wait_until,
)

from .factories import photo

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WAITING_ON_THE_LOCK = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO "market_stallphoto"%'
"""


@pytest.fixture
def server(tmp_path):
    require_postgresql()
    port, log = free_port(), tmp_path / "server.log"
    # No Redis: the embedded cache and channel layer; only the database matters here.
    process = start_uvicorn(port, {"REDIS_URL": "", "JIEFANG_MEDIA_ROOT": str(tmp_path / "media")}, log)
    try:
        wait_serving(port, process, log)
        yield f"http://127.0.0.1:{port}", log
    finally:
        stop(process)


def photo_files(n: int) -> list[tuple]:
    return [("photos", (f"p{i}.jpg", photo().read(), "image/jpeg")) for i in range(n)]


def dropped_mid_write(post, log) -> requests.Response:
    """Runs `post` while the photo table is locked, ends its backend once it waits on the lock."""
    result = {}
    # The watcher reads pg_stat_activity outside any transaction (a transaction sees one snapshot of it).
    with psycopg.connect(database_url()) as blocker, psycopg.connect(database_url(), autocommit=True) as watcher:
        blocker.execute("LOCK TABLE market_stallphoto IN SHARE MODE")
        request = threading.Thread(target=lambda: result.update(response=post()))
        request.start()
        pid = wait_until(
            lambda: watcher.execute(WAITING_ON_THE_LOCK).fetchone(),
            timeout=30, what="the request to wait on the photo table", logs=(log,),
        )[0]  # fmt: skip
        assert watcher.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        blocker.rollback()
    request.join(timeout=60)
    assert "response" in result, tail(log)
    return result["response"]


def test_a_dropped_connection_answers_503_and_leaves_no_half_written_stall(server):
    base, log = server
    seller = ResidentFactory(home=JINGAN)
    http = signed_in(seller, base)
    api, form = base + reverse("api-stalls"), base + reverse("market:stall_create")
    fields = {"kind": "sale", "price": "12.00", "category": "other", "quantity": "1"}

    # The API: JSON.
    response = dropped_mid_write(
        lambda: http.post(api, data={**fields, "title": "Bamboo steamer"}, files=photo_files(2), timeout=60), log
    )
    assert response.status_code == 503, (response.status_code, response.text[:2000], tail(log))
    assert response.headers["Retry-After"] == "10"
    assert response.json()["code"] == "database_unavailable"
    assert response.json()["detail"]

    # The form: the site's page, in the resident's language machinery like any other page.
    response = dropped_mid_write(
        lambda: http.post(form, data={**fields, "title": "Rice cooker"}, files=photo_files(2), timeout=60), log
    )
    assert response.status_code == 503, (response.status_code, response.text[:2000], tail(log))
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Retry-After"] == "10"
    assert 'data-testid="unavailable"' in response.text and "Back in a moment" in response.text
    assert "nonce-" in response.headers["Content-Security-Policy"]

    # All or nothing: neither stall left a row, nor any of their photos.
    assert not Stall.objects.exists()
    assert not StallPhoto.objects.exists()

    # The next request gets a new connection and publishes the whole stall.
    response = http.post(api, data={**fields, "title": "Bamboo steamer"}, files=photo_files(2), timeout=60)
    assert response.status_code == 201, (response.text[:2000], tail(log))
    stall = Stall.objects.get()
    assert stall.title == "Bamboo steamer" and stall.photos.count() == 2
