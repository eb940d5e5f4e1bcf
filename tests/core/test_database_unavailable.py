"""The 503 answer when the database connection fails (apps/core/views.py, DatabaseUnavailableMiddleware).
The connection really dropping mid-request is tests/market/test_database_drop.py (PostgreSQL)."""

import pytest
from django.db import DatabaseError, InterfaceError, OperationalError
from django.test import RequestFactory

from apps.core.middleware import DatabaseUnavailableMiddleware


@pytest.fixture
def middleware():
    return DatabaseUnavailableMiddleware(lambda request: None)


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_the_api_gets_json_with_retry_after(middleware, error):
    response = middleware.process_exception(RequestFactory().post("/api/stalls/"), error)
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response["Content-Type"] == "application/json"
    assert b'"code": "database_unavailable"' in response.content


def test_people_get_the_site_page_rendered_without_touching_the_database(middleware):
    # No django_db mark: any query while rendering would fail this test.
    request = RequestFactory().get("/market/stalls/new/")
    response = middleware.process_exception(request, OperationalError("terminating connection"))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    html = response.content.decode()
    assert 'data-testid="unavailable"' in html and "Back in a moment" in html
    assert 'href="/market/stalls/new/"' in html  # try again


def test_other_database_errors_are_left_to_the_500_handler(middleware):
    assert middleware.process_exception(RequestFactory().get("/"), DatabaseError("syntax error")) is None
    assert middleware.process_exception(RequestFactory().get("/"), ValueError()) is None
