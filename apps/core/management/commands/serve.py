"""Serves the ASGI application with several uvicorn workers, each listening on a socket of its own.

uvicorn's `--workers` share one listening socket, and a worker that wakes first accepts every
connection waiting at that moment: when a proxy or a load generator opens its keep-alive connections
together, one worker can take all of them and the others sit idle (docs/benchmarks.md, "Fifth
round": eight connections on one of four workers halved the pages served on two cores). Here each
worker binds the address with SO_REUSEPORT, and the kernel spreads new connections over the workers'
sockets. Linux only (SO_REUSEPORT balancing); a worker that dies is started again.
"""

import multiprocessing
import signal
import socket
import time

from django.core.management.base import BaseCommand, CommandError

APPLICATION = "neighborhood.asgi:application"


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def run_worker(host: str, port: int, log_level: str) -> None:
    """One worker process: its own socket on the shared address, one uvicorn server on it."""
    import uvicorn

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent stops the workers with SIGTERM
    sock = listening_socket(host, port)
    config = uvicorn.Config(APPLICATION, lifespan="off", log_level=log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class Command(BaseCommand):
    help = "Serves the site with uvicorn workers, each on its own SO_REUSEPORT socket of one address."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--log-level", default="warning")

    def handle(self, *args, host, port, workers, log_level, **options):
        if not hasattr(socket, "SO_REUSEPORT"):
            raise CommandError("SO_REUSEPORT is not available here: use uvicorn --workers instead.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        # Bound once here first, so that an address in use is reported before any worker starts.
        try:
            listening_socket(host, port).close()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        context = multiprocessing.get_context("spawn")
        stopping = False

        def start():
            process = context.Process(target=run_worker, args=(host, port, log_level))
            process.start()
            return process

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        processes = [start() for _ in range(workers)]
        self.stdout.write(f"Serving on http://{host}:{port}/ with {workers} workers")
        try:
            while not stopping:
                time.sleep(0.5)
                for i, process in enumerate(processes):
                    if not process.is_alive() and not stopping:
                        self.stderr.write(
                            f"Worker {process.pid} stopped (exit code {process.exitcode}): starting another"
                        )
                        processes[i] = start()
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                process.join(timeout=30)
