"""Real processes for the fault tests: a private redis-server, uvicorn servers and a signed-in HTTP
session against them. Each process is started here with a known pid and stopped by that pid; the
shared Redis on 6379 and the shared PostgreSQL are never touched (their test database aside)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database (its name is only known at test time), for the server processes."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def require_postgresql() -> None:
    """In the second CI pass these tests must run: a missing PostgreSQL fails them, never skips."""
    if not connection.settings_dict["ENGINE"].endswith("postgresql"):
        pytest.fail("this test needs DATABASE_URL pointing at PostgreSQL")


def wait_until(predicate, *, timeout: float, what: str, logs: tuple[Path, ...] = (), every: float = 0.1):
    """Polls `predicate` until it returns something true (returned), or fails the test with the logs."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {log.name}:\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists()
            )
            pytest.fail(f"timed out waiting for {what}\n{tails}")
        time.sleep(every)


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 10) -> None:
    """Stops one process we started, by its pid; kills it when it does not go in time."""
    if process.poll() is not None:
        return
    try:
        os.kill(process.pid, sig)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class RedisServer:
    """A private redis-server on a port of its own, without persistence (like the CI one)."""

    def __init__(self, directory: Path, port: int | None = None):
        self.port = port or free_port()
        self.directory = directory
        self.log = directory / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(lambda: self.ping(), timeout=15, what=f"redis-server on {self.port}", logs=(self.log,))
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """The crash: SIGKILL by pid, nothing saved, the port closed."""
        stop(self.process, signal.SIGKILL)
        wait_until(lambda: not listening(self.port), timeout=10, what=f"port {self.port} to close")


def start_uvicorn(port: int, env: dict, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "true",
        "DJANGO_LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(
        ["nice", "-n", "15", sys.executable, "-m", "uvicorn", "neighborhood.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "off", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_serving(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"server on {port} exited:\n{log.read_text(errors='replace')}")
        return listening(port)

    wait_until(up, timeout=timeout, what=f"the server on {port}", logs=(log,))


def signed_in(user, base_url: str) -> requests.Session:
    """An HTTP session of `user` against a real server: their session cookie, and a CSRF cookie whose
    value the session also sends as the header (what the site's pages do for htmx and fetch)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    token = _get_new_csrf_string()
    session.cookies.set("sessionid", client.cookies["sessionid"].value, domain="127.0.0.1", path="/")
    session.cookies.set(settings.CSRF_COOKIE_NAME, token, domain="127.0.0.1", path="/")
    session.headers.update({"X-CSRFToken": token, "Referer": base_url + "/"})
    return session


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def start_celery(role: str, env: dict, log: Path, *extra: str) -> subprocess.Popen:
    """A real Celery `worker` or `beat` on the given broker (env REDIS_URL) and the test database, in
    a process group of its own so that stopping it takes its pool children too."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "neighborhood.settings",
        "DATABASE_URL": database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **env,
    }
    options = {
        "worker": ["-P", "prefork", "-c", "1", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
                   "--without-heartbeat"],
        "beat": ["--schedule", str(log.with_suffix(".schedule"))],
    }[role]  # fmt: skip
    return subprocess.Popen(
        ["nice", "-n", "15", sys.executable, "-m", "celery", "-A", "neighborhood", role, "-l", "INFO",
         *options, *extra],
        cwd=BASE_DIR, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop_group(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> None:
    """Stops a process started in its own group (start_celery) and its children, by its pid."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
