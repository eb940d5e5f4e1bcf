"""Django's ASGI handler, with the pages' middleware chain run in one thread switch per request, in
threads that are kept from one request to the next.

Every view and middleware of the site is synchronous. Django's own `ASGIHandler` builds its chain in
async mode, and then each async-capable middleware (all of Django's, through `MiddlewareMixin`) runs
its `process_request` and `process_response` in the sync thread one call at a time: two thread
switches per middleware and per request, plus one for the view. Those switches cost the ASGI workers
more CPU per page than the work itself (bench/feed.py, docs/benchmarks.md). Here the chain is built
as under WSGI and run whole in the sync thread, as Django does for a chain of sync-only middleware.
Async views would still work (Django wraps them for a sync chain), only less efficiently; there are
none. The request's start and end signals go into the same switch (`handle`), so a page costs one
switch into its thread where Django's handler took three even with the chain whole.

Django also gives each request a sync thread of its own (asgiref's `ThreadSensitiveContext`), started
for the request and stopped after it. Here a request borrows an idle thread of the worker instead
and hands it back when it is done: each request's sync code still runs in one thread that no other
request uses meanwhile (so a slow page does not hold up the chat's database calls or another page),
without starting a thread per request, as a WSGI server's threads are kept.
"""

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix


class PageThreads:
    """The worker's page threads, each a one-thread executor, lent to one request at a time.

    Used from the event loop's thread only (no lock needed). At most `keep` idle threads are kept; a
    burst beyond that starts threads that stop after their request. With a `limit`, at most that
    many pages are served at once and the requests beyond it wait their turn in the event loop, in
    the order they came: on a worker with more pages in flight than its share of the cores, the
    threads only take the interpreter's lock from each other (settings.JIEFANG_ASGI_PAGES_AT_ONCE).
    """

    def __init__(self, keep: int = 16, limit: int | None = None):
        self.keep = keep
        self.limit = limit
        self.idle: deque[ThreadPoolExecutor] = deque()
        self.started = 0
        self.serving = 0
        self.waiting: deque[asyncio.Future] = deque()

    async def lend(self) -> ThreadPoolExecutor:
        if self.limit is not None and self.serving >= self.limit:
            turn = asyncio.get_running_loop().create_future()
            self.waiting.append(turn)
            try:
                await turn  # a finished page hands its turn over (`_next`)
            except asyncio.CancelledError:
                if not turn.cancelled():
                    self._next()  # handed the turn as it was cancelled: pass it on
                raise
        else:
            self.serving += 1
        if self.idle:
            return self.idle.pop()
        self.started += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="page")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        if len(self.idle) < self.keep:
            self.idle.append(executor)
        else:
            executor.shutdown(wait=False)
        self._next()

    def _next(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():  # a waiter that left is skipped
                turn.set_result(None)
                return
        self.serving -= 1


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self.page_threads = PageThreads(limit=settings.JIEFANG_ASGI_PAGES_AT_ONCE or None)

    def load_middleware(self, is_async=False):
        # ASGIHandler asks for the async chain; the sync one, run below in a single switch, is cheaper.
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            # as Django's own handler answers (channels routes WebSockets elsewhere)
            return await super().__call__(scope, receive, send)
        executor = await self.page_threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.page_threads.give_back(executor)

    async def handle(self, scope, receive, send):
        """Django's `ASGIHandler.handle`, with the whole request in one switch into the page thread:
        the request_started signal, the middleware chain with the view, and for a response whose
        content is in hand, its closing (request_finished, which hands the database connection
        back). Django's handler switches for each of the three, and watches for the client leaving
        in a task of its own, which can only stop it waiting for a sync view, not the view."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await sync_to_async(self.respond, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    # a file or a stream is read while it is sent: closed once sent, as Django does
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def respond(self, scope, body_file):
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return response

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
