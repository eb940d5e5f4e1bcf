"""Access logs keep the path of a request, never its query string.

Positions travel in query strings: the home picker's preview of the area (`/api/areas/snap/?lat=…`,
the exact point a resident taps), the feed's "near me now", the shops near a point. Written to an
access log next to the client's address, they would keep what the site promises never to keep, so
the ASGI server's access log (uvicorn's `uvicorn.access` logger) drops them. A proxy in front must be
configured likewise (docs/security.md).
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class WithoutQueryString(logging.Filter):
    """uvicorn logs each request as (client, method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def access_log_without_query_strings() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, WithoutQueryString) for f in logger.filters):
        logger.addFilter(WithoutQueryString())
