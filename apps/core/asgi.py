"""Django's ASGI handler, with the pages' middleware chain run in one thread switch per request.

Every view and middleware of the site is synchronous. Django's own `ASGIHandler` builds its chain in
async mode, and then each async-capable middleware (all of Django's, through `MiddlewareMixin`) runs
its `process_request` and `process_response` in the sync thread one call at a time: two thread
switches per middleware and per request, plus one for the view. Those switches cost the ASGI workers
more CPU per page than the work itself (bench/feed.py, docs/benchmarks.md). Here the chain is built
as under WSGI and run whole in the sync thread, as Django does for a chain of sync-only middleware.
Async views would still work (Django wraps them for a sync chain), only less efficiently; there are
none.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        # ASGIHandler asks for the async chain; the sync one, run below in a single switch, is cheaper.
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
