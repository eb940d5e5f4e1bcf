"""Security settings and headers: production passes Django's deployment checks, and every page
carries the Content-Security-Policy, HSTS (over HTTPS) and the other headers, with safe cookies."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.accounts.factories import ResidentFactory

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x7#Qm2!vL9@pR4$wZ8^kT1&nB6*cY3(hJ5)dF0_gS-uE+iO=aW~" * 2,
    "DJANGO_ALLOWED_HOSTS": "jiefang.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://jiefang.example.org",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def run_manage(*args, env_overrides: dict, code: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JIEFANG_"))}
    env.update(env_overrides)
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_settings_pass_the_deployment_checks_at_warning_level():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = run_manage("check", "--deploy", env_overrides=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_embedded_default_serves_plain_http_with_debug():
    result = run_manage(
        env_overrides={},
        code=(
            "import django, os, json; os.environ['DJANGO_SETTINGS_MODULE'] = 'neighborhood.settings'; django.setup();"
            "from django.conf import settings as s;"
            "print(json.dumps([s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS]))"
        ),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, False, False, 0]


PRODUCTION_PROBE = """
import django, json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "neighborhood.settings"
django.setup()
from django.conf import settings
from django.test import Client
# Production serves collectstatic's manifest; this probe has none and needs no static files.
plain_storage = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": plain_storage}
client = Client(HTTP_HOST="jiefang.example.org")
plain = client.get("/accounts/login/")
proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
cookie = proxied.cookies["csrftoken"]
print(json.dumps({
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location"),
    "status": proxied.status_code,
    "headers": dict(proxied.headers),
    "csrf_cookie": {k: cookie[k] for k in ("secure", "httponly", "samesite")},
}))
"""


def test_production_redirects_to_https_and_sends_hsts_and_secure_cookies():
    result = run_manage(env_overrides=PRODUCTION_ENV, code=PRODUCTION_PROBE)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    assert probe["plain_status"] == 301
    assert probe["plain_location"] == "https://jiefang.example.org/accounts/login/"
    assert probe["status"] == 200
    headers = probe["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "upgrade-insecure-requests" in headers["Content-Security-Policy"]
    assert probe["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


@pytest.mark.django_db
def test_every_page_carries_a_nonce_policy_without_unsafe_inline_scripts(client):
    client.force_login(ResidentFactory())
    first, second = client.get(reverse("home")), client.get(reverse("home"))
    assert first.status_code == 200
    policy = _policy(first)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]  # covers ws: to this host: the chat's socket
    nonce = next(s for s in policy["script-src"] if s.startswith("'nonce-"))[len("'nonce-") : -1]
    # The page's own script tags carry this response's nonce, and every response has a fresh one.
    assert f'nonce="{nonce}"' in first.content.decode()
    assert nonce not in second.headers["Content-Security-Policy"]
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert first.headers["X-Frame-Options"] == "DENY"
    assert first.headers["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_error_pages_carry_the_policy_too(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "'nonce-" in response.headers["Content-Security-Policy"]


def test_images_may_come_from_the_tile_host_and_data_urls():
    from neighborhood.settings import _tile_origin

    img_src = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]
    assert "data:" in img_src
    assert _tile_origin(settings.JIEFANG_TILE_URL) in img_src
    assert _tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert _tile_origin("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png") == "http://127.0.0.1:8080"
    assert _tile_origin("") is None


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_httponly_and_samesite(client):
    resident = ResidentFactory()
    from tests.accounts.factories import TEST_PASSWORD

    client.get(reverse("accounts:login"))
    csrf = client.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    response = client.post(reverse("accounts:login"), {"username": resident.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"


@pytest.mark.django_db
def test_api_docs_inline_script_carries_the_nonce(client):
    client.force_login(ResidentFactory())
    response = client.get(reverse("api-docs"))
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    html = response.content.decode()
    assert html.count(f'nonce="{nonce}"') == 4  # the style, two bundles, the inline set-up script
    assert "<script>" not in html and "<style>" not in html


TEMPLATES_DIR = ROOT / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES_DIR) for p in TEMPLATES_DIR.rglob("*.html")), ids=str
)
def test_templates_have_no_inline_script_handler_or_style(template):
    """The policy would block them: scripts go in static/js (data through json_script), styles in
    static/css. The API docs templates are the exception, with nonces (tested above)."""
    text = (TEMPLATES_DIR / template).read_text()
    if template.parts[0] == "api":
        assert all('nonce="{{ request.csp_nonce }}"' in tag for tag in INLINE_SCRIPT.findall(text))
        return
    assert not INLINE_SCRIPT.findall(text)
    assert not HANDLER_ATTRIBUTE.findall(text)
    assert not STYLE_ATTRIBUTE.findall(text)
    assert "javascript:" not in text
