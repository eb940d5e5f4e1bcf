"""`manage.py serve`: uvicorn workers, each listening on a socket of its own at one address."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listeners(port: int) -> int:
    """Listening sockets on the port, from /proc/net/tcp (state 0A)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A")


@pytest.fixture
def served():
    port = free_port()
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "3"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while listeners(port) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    yield port, server
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="Linux's SO_REUSEPORT")
def test_each_worker_listens_on_its_own_socket_and_serves_pages(served):
    port, server = served
    assert listeners(port) == 3  # uvicorn's own --workers share one listening socket
    for _ in range(3):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30) as response:
            assert response.status == 200
            assert b'name="password"' in response.read()
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) == 0
    assert listeners(port) == 0


def test_bad_arguments_are_refused_before_any_worker_starts():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("serve", "--workers", "0")
    with socket.socket() as taken:  # held without SO_REUSEPORT: no one may share it
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(CommandError, match="Cannot listen"):
            call_command("serve", "--port", str(taken.getsockname()[1]))
