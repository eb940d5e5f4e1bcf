"""The ASGI server's access log keeps paths, never query strings: positions travel in them."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# A resident's exact point, as the home picker sends it to preview its area.
HOME = ("31.2153517", "121.4573219")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_uvicorn_access_log_drops_the_positions_in_query_strings():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JIEFANG_"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "neighborhood.asgi:application", "--port", str(port), "--lifespan", "off"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        get(f"{base}/api/areas/snap/?lat={HOME[0]}&lng={HOME[1]}")
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    access = [line for line in output.splitlines() if '"GET ' in line]
    assert any("/api/areas/snap/ HTTP" in line for line in access), output
    assert HOME[0] not in output and HOME[1] not in output and "lat=" not in output, output
