"""Browser tests: the real ASGI app, HTTP and WebSocket, driven by Debian's Chromium.

uvicorn serves `neighborhood.asgi.application` from a thread of the test process, so the server sees
the test database (on SQLite a file, tests/conftest.py says why; on PostgreSQL a real database).
Data must be committed for the server to see it, so the `live_site` fixture pulls in
`transactional_db`.

Fixtures (use them from any tests/e2e module; mark the tests `@pytest.mark.e2e`):

- `live_site`: the running site; `live_site.url` is the base URL, `live_site.reverse("home")` an
  absolute URL, `live_site.ws_url` the ws:// base for WebSocket tests.
- `browser`: one headless Chromium for the session (Debian's, at `shutil.which("chromium")`).
- `new_context`: `new_context(**options)` opens an independent browser context (own cookies, own
  session: one per user when two residents talk) with a phone viewport; all are closed after the test.
- `context`, `page`: the first context and a page in it.
- `log_in`: `log_in(page, resident)` signs the resident in through a session cookie (no form; the
  form itself is tested in test_foundation.py) and returns the page.
- `outside_browser`: `with outside_browser(): ...` runs code that uses `async_to_sync` (a service that
  broadcasts on commit) from the test body; see below why.
- `asgi_server`: the session's uvicorn behind `live_site` (`.url`), started on first use.

A test fails when the server logs an error (a 500, a crashed consumer) or a page throws an uncaught
JavaScript error. The browser cannot reach the internet (every host name but 127.0.0.1 fails to
resolve) and pages get no map tile URL: they must work without tiles.

Playwright's sync API keeps its event loop marked as running in the test thread between calls, so
Django's ORM refuses to run there (SynchronousOnlyOperation) and `async_to_sync` refuses too. The ORM
is made to accept it with DJANGO_ALLOW_ASYNC_UNSAFE, for e2e tests only (nothing else runs on that
loop while a test's own code runs, so it is safe). `async_to_sync` has no such switch:
`outside_browser()` clears the mark for the duration of a block. Between e2e tests the mark is
cleared too, so the tests that run after them see a normal thread.
"""

import asyncio
import logging
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

PHONE_VIEWPORT = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The tests never reach the internet: every host name but the test server's fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# A failing expectation should fail in seconds, not after Playwright's default 30 s; but not flake
# when the two cores of a CI machine are busy with other work.
TIMEOUT_MS = 10_000


# --- The server ---------------------------------------------------------------------------------


class _ErrorLog(logging.Handler):
    """Collects server errors (a 500, a crashed consumer) so that the test that caused them fails."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@dataclass
class LiveServer:
    url: str
    server: object
    thread: threading.Thread
    errors: _ErrorLog = field(default_factory=_ErrorLog)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    """uvicorn serving the ASGI app on a free port, for the whole session (started on first use).

    Depends on django_db_setup so that it stops before the test database is dropped."""
    import uvicorn
    from django.db.backends.signals import connection_created

    from neighborhood.asgi import application

    # Database connections the server's threads open; any still open at the end are closed here, or
    # PostgreSQL refuses to drop the test database ("being accessed by other users").
    server_connections = []

    def remember(sender, connection, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            server_connections.append(connection)

    connection_created.connect(remember, weak=False, dispatch_uid="e2e-server-connections")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        application,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        # A WebSocket a test left open must not hold up the end of the session.
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start for the e2e tests")
        time.sleep(0.02)

    live = LiveServer(url=f"http://127.0.0.1:{port}", server=server, thread=thread)
    loggers = [logging.getLogger(name) for name in ("django.request", "django.channels.server", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(live.errors)
    yield live
    for logger in loggers:
        logger.removeHandler(live.errors)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    connection_created.disconnect(dispatch_uid="e2e-server-connections")
    for wrapper in server_connections:
        # Their threads are gone or idle; close the driver's connection directly (Django's close()
        # insists on being called from the thread that opened it).
        if wrapper.connection is not None:
            wrapper.connection.close()
            wrapper.connection = None


class LiveSite:
    def __init__(self, url: str):
        self.url = url
        self.ws_url = "ws" + url.removeprefix("http")

    def reverse(self, viewname: str, *args, **kwargs) -> str:
        return self.url + reverse(viewname, args=args or None, kwargs=kwargs or None)

    def __str__(self):
        return self.url


@pytest.fixture
def live_site(asgi_server, transactional_db, settings):
    """The site for one test, with committed data, and no map tiles from the internet: the pages must
    stay usable without them, and the tests run offline."""
    settings.JIEFANG_TILE_URL = ""
    asgi_server.errors.records.clear()
    yield LiveSite(asgi_server.url)
    errors = [asgi_server.errors.format(record) for record in asgi_server.errors.records]
    asgi_server.errors.records.clear()
    if errors:
        pytest.fail("The server logged errors during the test:\n" + "\n\n".join(errors), pytrace=False)


# --- The browser --------------------------------------------------------------------------------


class _BrowserLoop:
    """Playwright's event loop, as the test thread sees it (see the module docstring)."""

    loop: asyncio.AbstractEventLoop | None = None

    def park(self):
        if self.loop is not None and asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)

    def resume(self):
        if self.loop is not None:
            asyncio._set_running_loop(self.loop)


_browser_loop = _BrowserLoop()


@pytest.fixture(scope="session")
def _chromium(django_db_setup):
    """One headless Chromium for the session; started after the test database exists, and stopped
    before it is dropped."""
    executable = shutil.which("chromium")
    if not executable:
        pytest.fail(
            "Chromium is missing: the browser tests drive Debian's chromium. "
            "Install it with `make chromium` (or `sudo apt-get install chromium fonts-noto-cjk`).",
            pytrace=False,
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    _browser_loop.park()
    playwright = sync_playwright().start()
    _browser_loop.loop = asyncio._get_running_loop()
    chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    # Fixtures set up after this one (data, the server) run in a plain thread until a test drives
    # the browser.
    _browser_loop.park()
    yield chromium
    _browser_loop.resume()
    chromium.close()
    playwright.stop()
    _browser_loop.park()
    _browser_loop.loop = None


@pytest.fixture
def browser(_chromium):
    _browser_loop.resume()
    return _chromium


@pytest.fixture(autouse=True)
def _e2e_thread(monkeypatch):
    """The test thread of an e2e test runs beside Playwright's loop; see the module docstring.
    Django reads the variable process-wide, so on the server's event loop too: an ORM call made
    straight from async code is caught by the consumers' own tests (WebsocketCommunicator), not here."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    _browser_loop.park()


@pytest.fixture
def outside_browser():
    """`with outside_browser(): services.message_send(...)`: for test code that uses async_to_sync.
    No Playwright call may run inside the block."""

    @contextmanager
    def block():
        _browser_loop.park()
        try:
            yield
        finally:
            _browser_loop.resume()

    return block


# Every page reports what its Content-Security-Policy blocked (the listener is installed by the
# browser before any page script, so the policy cannot block it).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__jiefangCspViolation(
    location.pathname + ": " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline") +
    (e.sourceFile ? " (" + e.sourceFile + ":" + e.lineNumber + ")" : "")
  );
});
"""


@pytest.fixture
def csp_violations():
    """What the Content-Security-Policy blocked in this test's pages, as "path: directive blocked
    what"; a test that provokes a violation on purpose reads and clears it."""
    return []


@pytest.fixture
def new_context(browser, live_site, csp_violations):
    """Opens independent browser contexts (one per user) with a phone viewport, in English unless
    told otherwise; uncaught JavaScript errors and anything the Content-Security-Policy blocks fail
    the test."""
    contexts = []
    js_errors: list[str] = []

    def open_context(**options):
        options = {"viewport": PHONE_VIEWPORT, "locale": "en-GB", "base_url": live_site.url, **options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("weberror", lambda error: js_errors.append(f"{error.page.url if error.page else ''}: {error.error}"))
        context.expose_function("__jiefangCspViolation", lambda text: csp_violations.append(text))
        context.add_init_script(_CSP_LISTENER)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    if js_errors:
        pytest.fail("JavaScript errors in the page:\n" + "\n".join(js_errors), pytrace=False)
    if csp_violations:
        pytest.fail("The Content-Security-Policy blocked:\n" + "\n".join(csp_violations), pytrace=False)


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def log_in(live_site):
    """`log_in(page, resident)`: the page's context is now signed in as the resident."""
    from django.test import Client

    def sign_in(page, resident):
        client = Client()
        client.force_login(resident, backend="django.contrib.auth.backends.ModelBackend")
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_site.url}]
        )
        return page

    return sign_in
