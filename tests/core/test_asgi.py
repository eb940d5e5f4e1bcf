"""The pages under ASGI: the sync middleware chain runs in one thread switch, and still answers right."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from channels.testing import HttpCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings

from apps.core.asgi import PageThreads, SyncChainASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def switches(monkeypatch):
    """Every call into the sync thread, by the function called."""
    calls = []
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        calls.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return calls


def get(handler, path):
    """The answer of the ASGI handler to a GET, and the ident of the event loop's thread."""

    async def ask():
        communicator = HttpCommunicator(handler, "GET", path, headers=[(b"host", b"testserver")])
        return await communicator.get_response(timeout=10), threading.get_ident()

    return async_to_sync(ask)()


def get_together(handler, path, count):
    """The answers of the ASGI handler to `count` GETs sent at once."""

    async def ask():
        communicators = [
            HttpCommunicator(handler, "GET", path, headers=[(b"host", b"testserver")]) for _ in range(count)
        ]
        return await asyncio.gather(*(c.get_response(timeout=20) for c in communicators))

    return async_to_sync(ask)()


def test_a_page_costs_one_switch_into_the_sync_thread(switches):
    response, _ = get(SyncChainASGIHandler(), "/accounts/login/")
    assert response["status"] == 200
    assert b'name="password"' in response["body"]
    ours = len(switches)
    # the request_started signal, the whole chain with the view, and closing the response, together
    assert ours == 1, switches

    switches.clear()
    response, _ = get(ASGIHandler(), "/accounts/login/")
    assert response["status"] == 200
    # Django's own handler: into the thread for the signal, for the chain, back to the loop for the
    # view part, into the thread for each process_view, the view, the template's rendering, closing
    assert len(switches) >= 5, switches


def test_middleware_and_view_share_one_thread(switches):
    seen = []

    def record(get_response):
        def middleware(request):
            seen.append(("middleware", threading.get_ident()))
            response = get_response(request)
            seen.append(("view done", threading.get_ident()))
            return response

        return middleware

    from django.conf import settings

    with override_settings(MIDDLEWARE=["tests.core.test_asgi.outer_probe", *settings.MIDDLEWARE]):
        global outer_probe
        outer_probe = record
        response, loop_thread = get(SyncChainASGIHandler(), "/accounts/login/")
    assert response["status"] == 200
    assert [step for step, _ in seen] == ["middleware", "view done"]
    assert len({ident for _, ident in seen}) == 1
    assert loop_thread not in {ident for _, ident in seen}  # the sync thread, not the event loop's


def test_errors_and_redirects_keep_their_answers():
    handler = SyncChainASGIHandler()
    missing, _ = get(handler, "/no-such-page/")
    assert missing["status"] == 404
    protected, _ = get(handler, "/accounts/my-data/")
    assert protected["status"] == 302
    assert dict(protected["headers"])[b"Location"].startswith(b"/accounts/login/")


def test_the_request_ends_once_the_page_is_in_hand(switches):
    """request_started and request_finished (which hands the database connection back) run in the
    page's one switch, around the chain, in the page thread."""
    from django.core import signals

    seen = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    def record(get_response):
        def middleware(request):
            seen.append(("page", threading.get_ident()))
            return get_response(request)

        return middleware

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        with probing(record):
            response, loop_thread = get(SyncChainASGIHandler(), "/accounts/login/")
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert response["status"] == 200
    assert [step for step, _ in seen] == ["started", "page", "finished"]
    assert len({ident for _, ident in seen}) == 1 and loop_thread not in {ident for _, ident in seen}
    assert len(switches) == 1


def test_a_streamed_file_is_sent_whole_then_closed(tmp_path):
    """A file is read while it is sent, so it is closed (and the request finished) only after."""
    from django.http import FileResponse

    path = tmp_path / "poster.bin"
    path.write_bytes(bytes(range(256)) * 1000)  # several chunks
    opened = []

    def serve_file(get_response):
        def middleware(request):
            handle = path.open("rb")
            opened.append(handle)
            return FileResponse(handle)

        return middleware

    async def ask():
        # channels' HttpCommunicator wants a body in the last message, which ASGI leaves optional
        handler, sent, asked = SyncChainASGIHandler(), [], asyncio.Event()

        async def receive():
            if asked.is_set():
                await asyncio.Event().wait()  # the client stays
            asked.set()
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/anything/", "query_string": b"", "headers": []}
        await handler(scope, receive, send)
        return sent

    with probing(serve_file):
        sent = async_to_sync(ask)()
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == path.read_bytes()
    assert not sent[-1].get("more_body", False)
    assert opened[0].closed


def probing(middleware_factory):
    """The site's middleware with `middleware_factory` outermost."""
    from django.conf import settings

    global outer_probe
    outer_probe = middleware_factory
    return override_settings(MIDDLEWARE=["tests.core.test_asgi.outer_probe", *settings.MIDDLEWARE])


def test_requests_one_after_another_reuse_one_page_thread():
    threads = []

    def record(get_response):
        def middleware(request):
            threads.append(threading.get_ident())
            return get_response(request)

        return middleware

    with probing(record):
        handler = SyncChainASGIHandler()
        for _ in range(3):
            response, loop_thread = get(handler, "/accounts/login/")
            assert response["status"] == 200
    assert len(set(threads)) == 1
    assert loop_thread not in threads
    assert handler.page_threads.started == 1


def test_requests_at_the_same_time_each_have_a_thread_of_their_own():
    # Both requests must be inside their views at once to pass the barrier: on a shared thread the
    # second would wait for the first, which waits for the second, and the barrier would time out.
    barrier = threading.Barrier(2, timeout=10)
    threads = []

    def meet(get_response):
        def middleware(request):
            threads.append(threading.get_ident())
            barrier.wait()
            return get_response(request)

        return middleware

    with probing(meet):
        handler = SyncChainASGIHandler()
        responses = get_together(handler, "/accounts/login/", 2)
    assert [r["status"] for r in responses] == [200, 200]
    assert len(set(threads)) == 2
    assert len(handler.page_threads.idle) == 2  # both kept for the next requests


def test_idle_page_threads_beyond_the_keep_are_stopped():
    threads = PageThreads(keep=1)
    lend = async_to_sync(threads.lend)
    first, second = lend(), lend()
    assert first is not second and threads.started == 2
    threads.give_back(first)
    threads.give_back(second)
    assert list(threads.idle) == [first]
    assert second._shutdown
    assert lend() is first


def test_pages_beyond_the_limit_wait_their_turn_in_order():
    async def scenario():
        threads = PageThreads(limit=2)
        first, second = await threads.lend(), await threads.lend()
        third = asyncio.ensure_future(threads.lend())
        fourth = asyncio.ensure_future(threads.lend())
        leaving = asyncio.ensure_future(threads.lend())
        await asyncio.sleep(0.01)
        assert not (third.done() or fourth.done() or leaving.done())
        leaving.cancel()  # a client that goes away while waiting gives up its place
        await asyncio.sleep(0.01)
        threads.give_back(first)
        await asyncio.sleep(0.01)
        assert third.done() and not fourth.done()
        threads.give_back(second)
        await asyncio.sleep(0.01)
        assert fourth.done()
        threads.give_back(third.result())
        threads.give_back(fourth.result())
        return threads

    threads = async_to_sync(scenario)()
    assert threads.serving == 0 and not threads.waiting
    assert threads.started == 2  # the waiting pages took the threads handed back


def test_a_turn_handed_to_a_page_that_left_passes_on():
    async def scenario():
        threads = PageThreads(limit=1)
        first = await threads.lend()
        leaving = asyncio.ensure_future(threads.lend())
        next_one = asyncio.ensure_future(threads.lend())
        await asyncio.sleep(0.01)
        threads.give_back(first)  # hands the turn to `leaving`...
        leaving.cancel()  # ...which is cancelled before it runs
        await asyncio.sleep(0.01)
        assert leaving.cancelled() and next_one.done()
        threads.give_back(next_one.result())
        return threads

    threads = async_to_sync(scenario)()
    assert threads.serving == 0 and not threads.waiting


def test_a_worker_limited_to_one_page_serves_them_one_after_another(settings):
    settings.JIEFANG_ASGI_PAGES_AT_ONCE = 1
    inside, overlaps = [], []

    def record(get_response):
        def middleware(request):
            if inside:
                overlaps.append(request.path)
            inside.append(request.path)
            try:
                time.sleep(0.05)
                return get_response(request)
            finally:
                inside.remove(request.path)

        return middleware

    with probing(record):
        handler = SyncChainASGIHandler()
        responses = get_together(handler, "/accounts/login/", 3)
    assert [r["status"] for r in responses] == [200, 200, 200]
    assert overlaps == []
    assert handler.page_threads.started == 1


def test_the_site_serves_pages_with_this_handler():
    from neighborhood.asgi import django_asgi_app

    assert isinstance(django_asgi_app, SyncChainASGIHandler)


outer_probe = None
