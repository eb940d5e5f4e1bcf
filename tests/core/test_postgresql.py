"""PostgreSQL's timestamps read by psycopg's C loader give what Django's own loader gives."""

import datetime

import pytest
from django.db import connection
from psycopg.pq import Format

from apps.core.postgresql.base import TIMESTAMPTZ_OID, UtcTimestamptzLoader
from apps.market.models import Stall
from tests.accounts.factories import JINGAN, ResidentFactory
from tests.market.factories import publish

pytestmark = [pytest.mark.services, pytest.mark.django_db]

UTC = datetime.UTC


def select(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_the_site_reads_postgresql_through_this_backend():
    from django.db import connections

    connection.ensure_connection()
    assert type(connections["default"]).__module__ == "apps.core.postgresql.base"
    assert connection.vendor == "postgresql"
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is UtcTimestamptzLoader


def test_timestamps_come_back_aware_in_utc_to_the_microsecond():
    noon_in_shanghai = select("SELECT %s::timestamptz", ["2026-03-01 12:00:00.123456+08"])
    assert noon_in_shanghai == datetime.datetime(2026, 3, 1, 4, 0, 0, 123456, tzinfo=UTC)
    assert noon_in_shanghai.tzinfo is UTC  # as Django's loader gives it: UTC, not a zone named UTC
    assert select("SELECT NULL::timestamptz") is None
    assert select("SELECT '0044-03-15 10:00:00+00'::timestamptz").year == 44


def test_a_model_keeps_its_times_through_a_round_trip():
    stall = publish(ResidentFactory(home=JINGAN))
    when = datetime.datetime(2026, 11, 27, 23, 59, 59, 999999, tzinfo=UTC)
    Stall.objects.filter(pk=stall.pk).update(expires_at=when)
    read = Stall.objects.get(pk=stall.pk)
    assert read.expires_at == when and read.expires_at.tzinfo is UTC
    assert read.created_at.tzinfo is UTC


def test_a_session_moved_off_utc_reads_as_djangos_own_loader_reads_it():
    """Django keeps the session on UTC; were it moved, the values are what Django's loader makes."""
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    text = "2026-03-01 12:00:00+08"
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Shanghai'")
    try:
        ours = select("SELECT %s::timestamptz", [text])
        with connection.cursor() as cursor:
            register_tzloader(UTC, cursor.cursor)  # Django's own, on this one cursor
            cursor.execute("SELECT %s::timestamptz", [text])
            djangos = cursor.fetchone()[0]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert ours == djangos and ours.tzinfo is djangos.tzinfo is UTC


def test_the_feed_query_is_prepared_once_a_connection_repeats_it():
    """Server-side parameters and prepared statements (settings.JIEFANG_POSTGRESQL_OPTIONS): the
    feed's ranking keeps one SQL text from a look to the next, so PostgreSQL plans it once."""
    from apps.market import selectors

    me = ResidentFactory(home=JINGAN)
    stall = publish(ResidentFactory(home=JINGAN))
    pages = [[s.pk for s in selectors.stalls_feed(origin=JINGAN, radius_m=1000, viewer=me).items] for _ in range(7)]
    assert pages == [[stall.pk]] * 7
    prepared = select(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s AND statement LIKE %s",
        ['%FROM "market_stall"%', '%AS "rank"%'],
    )
    assert prepared == 1
