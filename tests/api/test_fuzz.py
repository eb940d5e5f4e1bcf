"""schemathesis over the OpenAPI schema at /api/schema/: every operation, signed in as a resident
with a home area. No answer may be a 5xx, and every answer must match what the schema documents
(status code, content type, body)."""

import pytest
import schemathesis
from django.middleware.csrf import _get_new_csrf_string
from hypothesis import HealthCheck, settings
from schemathesis import checks

from neighborhood.wsgi import application
from tests.accounts.factories import JINGAN, ResidentFactory

# What the issue asks: no 5xx, and every answer as documented. (schemathesis's other checks judge
# the auth and input constraints; the permission matrix tests take those on.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
# Small and deterministic: a few examples per operation keep the run inside CI's budget, and the same
# examples every run make a failure reproducible.
MAX_EXAMPLES = 8


# Loaded at collection: generating the schema reads no data.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _test_database_stays_open():
    """The WSGI app runs in this process, inside the test's transaction: like Django's test client,
    keep it from closing the database connection at the end of each request (on PostgreSQL that
    would end the test's transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def signed_in(db, client, _test_database_stays_open):
    resident = ResidentFactory(home=JINGAN)
    client.force_login(resident)
    csrf = _get_new_csrf_string()
    return {
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
        "headers": {"X-CSRFToken": csrf},
    }


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_operations(case, signed_in):
    case.call_and_validate(cookies=signed_in["cookies"], headers=signed_in["headers"], checks=CHECKS)
