#!/usr/bin/env python3
"""Load test of the whole site: a mixed workload of residents (feed, stall pages, posting, chat over
HTTP and WebSocket) against several uvicorn ASGI workers with PostgreSQL, Redis and a Celery worker,
stepped up until it no longer holds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/load.py
    .venv/bin/python bench/load.py --rates 10,20,40 --step-seconds 20     # shorter
    .venv/bin/python bench/load.py --server split                          # gunicorn for HTTP, uvicorn for /ws/
    .venv/bin/python bench/load.py --dry-run                              # the workload and the steps only

The site runs against the city of bench/nearby.py and bench/feed.py (1,000,000 stalls and 100,000
residents, built and cached there, in `jiefang_bench` on the DATABASE_URL server). This script adds
residents of its own to it (verified, in `--rooms` neighbourhoods, each in its neighbourhood's chat
room and in one direct conversation), logs them in, and removes them with everything they made at
the end. The load comes from locust, headless, in a second process on loopback
(bench/locustfiles/residents.py): each simulated resident does `--user-rate` actions per second,
picked by the weights of WORKLOAD, and keeps a WebSocket open on its room. Each step offers a total
rate (`--rates`, actions per second: users = rate / user rate) for `--step-seconds`, of which the
first `--warmup-seconds` are not measured; steps stop at the first that misses the goal (any error,
or p95 of 200 ms and over), and the highest step that held is the answer.

Each step prints requests per second, p50/p95/p99, the error rate, the delivery latency of room
messages to the other members' sockets, the CPU per request of the servers, their PostgreSQL
backends and the load generator, and the load average; docs/benchmarks.md has the figures.
Without PostgreSQL (DATABASE_URL) or Redis, it says so and exits 0: several workers need both
(SQLite takes one writer at a time; chat between workers goes through Redis).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import feed  # noqa: E402  (the feed bench: its residents, helpers and filter mix)
import nearby as city  # noqa: E402  (the city builder of bench/nearby.py)

LOCUSTFILE = ROOT / "bench" / "locustfiles" / "residents.py"
GOAL_P95_MS = 200.0
USERNAME_PREFIX = "loadbench"
CELERY_QUEUE = "jiefang-bench-load"
APP_NAME = "jiefang-bench-load"

# What a resident does, out of 100 actions. Reading dominates, as on any market site: the feed page
# and the stalls seen on it; the API feed is what an app or the map asks for; a few actions are chat
# (the inbox page, a conversation's history, a message sent over HTTP or over the open socket, to
# the neighbourhood room or a direct conversation), and one in a hundred posts a stall.
WORKLOAD = {
    "feed_page": 30,  # GET /            (as logged in: home area and radius, the page of cards)
    "stall_page": 30,  # GET /market/stalls/<id>/  (a stall from the last feed seen)
    "feed_api": 15,  # GET /api/stalls/feed/  (filters rotating through FEED_API_FILTERS)
    "chat_list": 6,  # GET /chat/
    "chat_history": 5,  # GET /api/chat/conversations/<id>/messages/
    "chat_send_http": 6,  # POST /api/chat/conversations/<id>/messages/  (room or direct, in turn)
    "chat_send_ws": 7,  # {"type": "message.send"} on the room's socket, timed to its ack
    "stall_post": 1,  # POST /api/stalls/
}
# How residents set their feed radius: most keep the default 1 km, some look across 5 km.
RADIUS_MIX = (1000, 1000, 1000, 1000, 5000)


def _api_filter(filters: dict) -> dict:
    """bench/feed.py's filter mix (selector arguments) as the feed API's query parameters."""
    return {("free" if k == "free_only" else k): ("true" if v is True else str(v)) for k, v in filters.items()}


FEED_API_FILTERS = [_api_filter(f) for f in feed.FILTER_MIX]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--rates",
        default="10,20,30,40,60,80",
        help="offered actions per second, one step each (default 10,20,30,40,60,80)",
    )
    p.add_argument("--user-rate", type=float, default=0.5, help="actions per second of one resident (default 0.5)")
    p.add_argument("--step-seconds", type=int, default=30, help="seconds per step, warm-up included (default 30)")
    p.add_argument("--warmup-seconds", type=int, default=10, help="seconds of each step not measured (default 10)")
    p.add_argument("--all-steps", action="store_true", help="run every step, even after one missed the goal")
    p.add_argument(
        "--server",
        choices=("uvicorn", "split"),
        default="uvicorn",
        help="uvicorn: ASGI workers serve everything (the default, as issue 8 asks); split: gunicorn's WSGI"
        " workers serve pages and the API, one uvicorn worker the WebSockets (the README's deployment)",
    )
    p.add_argument("--workers", type=int, default=3, help="uvicorn workers, or gunicorn's with split (default 3)")
    p.add_argument("--rooms", type=int, default=8, help="neighbourhoods the residents live in (default 8)")
    p.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    p.add_argument("--rows", type=int, default=city.DEFAULT_ROWS, help="stalls in the city (default 1,000,000)")
    p.add_argument("--residents", type=int, default=feed.DEFAULT_RESIDENTS, help="the feed bench's residents")
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--rebuild", action="store_true", help="rebuild the city")
    p.add_argument("--dir", type=Path, default=ROOT / "var" / "bench")
    p.add_argument("--dry-run", action="store_true", help="print the workload and the steps, start nothing")
    args = p.parse_args(argv)
    args.only = "postgresql"  # for bench/feed.py's set-up
    args.no_postgis = True
    if args.warmup_seconds >= args.step_seconds:
        p.error("--warmup-seconds must be shorter than --step-seconds")
    return args


# --- The plan and the figures (pure: bench/locustfiles/residents.py and the tests use them) ------


def plan_steps(rates: str, user_rate: float) -> list[dict]:
    """Each offered rate as a number of residents, each doing `user_rate` actions per second."""
    steps = []
    for text in rates.split(","):
        rate = float(text)
        if rate <= 0:
            raise ValueError(f"a rate must be positive: {text}")
        users = max(1, round(rate / user_rate))
        steps.append({"offered_per_s": users * user_rate, "users": users})
    return steps


def per_user_hourly(action: str, user_rate: float) -> float:
    """How often one resident does `action` in an hour, on average."""
    return user_rate * 3600 * WORKLOAD[action] / sum(WORKLOAD.values())


def limits_needed(user_rate: float, run_seconds: float, limits: dict) -> float:
    """The JIEFANG_RATE_LIMIT_SCALE the workload needs so that no resident is likely to meet a per-user
    limit (1.0: the real limits hold it): what a resident does in one window of the limit (or in the
    whole run, if shorter) must stay under half the limit. Addresses are not an issue: each simulated
    resident comes from an address of its own, as people do through the reverse proxy."""
    sends = per_user_hourly("chat_send_http", user_rate) + per_user_hourly("chat_send_ws", user_rate)
    uses = {"stall_publish": per_user_hourly("stall_post", user_rate), "message_send": sends}
    scale = 1.0
    for action, per_hour in uses.items():
        count, seconds = limits[action]["user"]
        expected = per_hour / 3600 * min(seconds, run_seconds)
        scale = max(scale, expected / (count / 2))
    return scale


def percentile(values: list[float], q: float) -> float:
    return city.percentile(values, q) if values else float("nan")


def summarize(records: list[tuple[str, float, bool]], seconds: float) -> dict:
    """The figures of one step from its (name, milliseconds, ok) records."""
    times = [ms for _, ms, _ in records]
    errors = sum(1 for _, _, ok in records if not ok)
    by_name: dict[str, list] = {}
    for name, ms, ok in records:
        by_name.setdefault(name, []).append((ms, ok))
    return {
        "requests": len(records),
        "rps": len(records) / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(times, 0.50),
        "p95_ms": percentile(times, 0.95),
        "p99_ms": percentile(times, 0.99),
        "errors": errors,
        "error_rate": errors / len(records) if records else 0.0,
        "by_name": {
            name: {
                "requests": len(rows),
                "p50_ms": percentile([ms for ms, _ in rows], 0.50),
                "p95_ms": percentile([ms for ms, _ in rows], 0.95),
                "errors": sum(1 for _, ok in rows if not ok),
            }
            for name, rows in sorted(by_name.items())
        },
    }


def holds(step: dict) -> bool:
    """The goal of issue 8 for one step: no error, and p95 under 200 ms."""
    return step["requests"] > 0 and step["errors"] == 0 and step["p95_ms"] < GOAL_P95_MS


def highest_held(steps: list[dict]) -> dict | None:
    held = [s for s in steps if holds(s)]
    return max(held, key=lambda s: s["offered_per_s"]) if held else None


def step_line(s: dict) -> str:
    delivery = s.get("delivery") or {}
    cpu = s.get("cpu_ms_per_request") or {}
    return (
        f"{s['offered_per_s']:>6.1f}/s offered ({s['users']:>3} residents): {s['rps']:>6.1f} req/s, "
        f"p50 {s['p50_ms']:>6.1f} / p95 {s['p95_ms']:>7.1f} / p99 {s['p99_ms']:>7.1f} ms, "
        f"errors {s['errors']} ({s['error_rate']:.2%}); room messages to sockets p50 "
        f"{delivery.get('p50_ms', float('nan')):.0f} / p95 {delivery.get('p95_ms', float('nan')):.0f} ms "
        f"({delivery.get('count', 0)}); CPU ms per request: servers {cpu.get('servers', float('nan')):.1f}, "
        f"PostgreSQL {cpu.get('database', float('nan')):.1f}, load generator "
        f"{cpu.get('load_generator', float('nan')):.1f}; load average {s.get('load_average_1m', 0):.1f}"
        + ("" if holds(s) else "  <- misses the goal")
    )


def cpu_bound_rps(steps: list[dict], cores: int) -> float | None:
    """What `cores` idle cores would serve if CPU were all it took: the cores over the CPU of one
    request (servers, PostgreSQL and the load generator), at the step that held the most load
    without errors. An estimate for a busy machine, where the latency goal is missed by queueing
    behind other work."""
    clean = [s for s in steps if s["errors"] == 0 and s.get("cpu_ms_per_request")]
    if not clean:
        return None
    cpu_ms = sum(max(clean, key=lambda s: s["rps"])["cpu_ms_per_request"].values())
    return cores * 1000 / cpu_ms if cpu_ms > 0 else None


def describe_workload(args, steps: list[dict]) -> str:
    total = sum(WORKLOAD.values())
    lines = [f"workload of one resident ({args.user_rate:g} actions/s, a WebSocket open on its room):"]
    lines += [f"  {name:<15} {weight / total:>5.0%}" for name, weight in WORKLOAD.items()]
    lines.append(
        f"  per resident and hour: {per_user_hourly('stall_post', args.user_rate):.0f} stalls posted, "
        f"{per_user_hourly('chat_send_http', args.user_rate) + per_user_hourly('chat_send_ws', args.user_rate):.0f}"
        " messages sent"
    )
    lines.append(
        f"steps of {args.step_seconds} s ({args.warmup_seconds} s warm-up): "
        + ", ".join(f"{s['offered_per_s']:g}/s ({s['users']} residents)" for s in steps)
    )
    lines.append(f"goal: no error and p95 under {GOAL_P95_MS:.0f} ms; the highest step that holds is the answer")
    return "\n".join(lines)


# --- The residents of the bench ------------------------------------------------------------------


def remove_bench_residents() -> None:
    """The bench's residents and all they made (stalls, messages, memberships, notifications), and
    the rooms only they were in: the city is left as bench/feed.py built it. Also run first, after a
    run that was killed."""
    from apps.accounts.models import Resident
    from apps.chat.models import Conversation

    ours = Resident.objects.filter(username__startswith=USERNAME_PREFIX)
    others = Resident.objects.exclude(username__startswith=USERNAME_PREFIX)
    Conversation.objects.filter(kind=Conversation.Kind.ROOM, members__resident__in=ours).exclude(
        members__resident__in=others
    ).delete()
    ours.delete()


def make_bench_residents(args, count: int, secret: str) -> list[dict]:
    """`count` verified residents in `--rooms` neighbourhoods, through the real services; each
    joins its room and opens a direct conversation with a neighbour, and is logged in."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone
    from h3.api import basic_int as h3i

    from apps.accounts.models import Resident
    from apps.accounts.services import resident_home_set
    from apps.chat import services as chat

    settings.SECRET_KEY = secret  # sessions signed as the servers will read them
    rng = random.Random(args.seed + 17)
    areas = []
    while len(areas) < args.rooms:
        lat, lng = city.random_city_point(rng, city.ORIGIN_SIDE_M)
        area = h3i.latlng_to_cell(lat, lng, settings.JIEFANG_CHAT_ROOM_RESOLUTION)
        if area not in areas:
            areas.append(area)
    homes = {a: list(h3i.cell_to_children(a, settings.JIEFANG_HOME_RESOLUTION)) for a in areas}
    people = []
    for i in range(count):
        area = areas[i % len(areas)]
        resident = Resident(
            username=f"{USERNAME_PREFIX}{i}",
            email=f"{USERNAME_PREFIX}{i}@bench.invalid",
            display_name=f"Load {i}",
            radius_m=rng.choice(RADIUS_MIX),
            residency_verified_at=timezone.now(),  # verified residents may post in their room
        )
        resident.set_unusable_password()
        resident.save()
        lat, lng = h3i.cell_to_latlng(rng.choice(homes[area]))
        resident_home_set(resident=resident, lat=lat, lng=lng)
        room = chat.room_join(resident=resident)
        session = SessionStore()
        session[SESSION_KEY] = str(resident.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"  # as a password log-in sets it
        session[HASH_SESSION_KEY] = resident.get_session_auth_hash()
        session.create()
        people.append({"id": resident.pk, "session": session.session_key, "room": room.pk, "resident": resident})
    # Neighbours in pairs (i and i + rooms live in the same area), as a buyer and a seller would be.
    for i, person in enumerate(people):
        partner = i + args.rooms
        if i % (2 * args.rooms) < args.rooms and partner < len(people):
            conversation = chat.conversation_open(resident=person["resident"], other=people[partner]["resident"])
            person["direct"] = people[partner]["direct"] = conversation.pk
    for person in people:
        del person["resident"]
        person.setdefault("direct", None)
    return people


# --- The servers ----------------------------------------------------------------------------------


def server_env(db_url: str, args, secret: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": args.redis,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secret,
        "DJANGO_HTTPS": "false",  # plain HTTP on loopback: no redirect to https
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # As bench/feed.py: under ASGI a psycopg pool, since persistent connections pile up per thread
        # (start_servers sets DATABASE_POOL for each server).
        "CELERY_TASK_DEFAULT_QUEUE": CELERY_QUEUE,  # never another run's worker on the same Redis
        "JIEFANG_RATE_LIMIT_SCALE": f"{args.rate_limit_scale:g}",
        # libpq names the servers' connections: the load generator finds their backends' CPU by it
        "PGAPPNAME": APP_NAME,
    }


def describe_servers(args) -> str:
    if args.server == "uvicorn":
        return f"uvicorn with {args.workers} workers"
    return f"gunicorn with {args.workers} workers for HTTP, uvicorn with 1 worker for /ws/"


def start_servers(env: dict, args, log_dir: Path) -> tuple[int, int, list[subprocess.Popen]]:
    """The web workers (uvicorn for everything, or gunicorn for HTTP beside one uvicorn for the
    sockets, as the README's split deployment), and one Celery worker for the tasks that posting and
    chat queue (notifications). Each in a process group of its own, for its CPU and its stop.
    Returns the HTTP port, the WebSocket port and the processes."""
    http_port = feed.free_port()
    ws_port = http_port if args.server == "uvicorn" else feed.free_port()
    bin_dir = Path(sys.executable).parent
    asgi_workers = args.workers if args.server == "uvicorn" else 1
    commands = {
        "uvicorn": ([
            str(bin_dir / "uvicorn"), "neighborhood.asgi:application", "--host", "127.0.0.1", "--port", str(ws_port),
            "--workers", str(asgi_workers), "--lifespan", "off", "--no-access-log", "--log-level", "warning",
        ], {"DATABASE_POOL": "true"}),
        "celery": ([
            str(bin_dir / "celery"), "-A", "neighborhood", "worker", "-Q", CELERY_QUEUE, "--concurrency", "1",
            "--loglevel", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle",
        ], {"DATABASE_POOL": "true"}),
    }  # fmt: skip
    if args.server == "split":
        # As the README: synchronous workers with persistent connections (one thread each: no pool).
        commands["gunicorn"] = (
            [str(bin_dir / "gunicorn"), "neighborhood.wsgi:application", "--bind", f"127.0.0.1:{http_port}",
             "--workers", str(args.workers), "--log-level", "warning"],
            {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "60"},
        )  # fmt: skip
    processes = []
    for name, (command, extra) in commands.items():
        log = (log_dir / f"load-{name}.log").open("w")
        processes.append(
            subprocess.Popen(
                command, cwd=ROOT, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
    deadline = time.monotonic() + 60
    waiting = {http_port, ws_port}
    while waiting:
        if any(p.poll() is not None for p in processes):
            stop_servers(processes)
            raise SystemExit(f"a server exited at start; see {log_dir}/load-*.log")
        for port in list(waiting):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    waiting.discard(port)
        if time.monotonic() > deadline:
            stop_servers(processes)
            raise SystemExit("the web workers did not start within 60 s")
        time.sleep(0.2)
    return http_port, ws_port, processes


def stop_servers(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


# --- The run --------------------------------------------------------------------------------------


def static_is_current() -> bool:
    """collectstatic post-processes every file each time (a minute or two on a busy machine): skip
    it when the manifest is newer than the project's static files and the pinned packages."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    if not manifest.exists():
        return False
    sources = [ROOT / "requirements.txt", *(p for p in (ROOT / "static").rglob("*") if p.is_file())]
    return manifest.stat().st_mtime > max(p.stat().st_mtime for p in sources)


def run_locust(plan: dict, port: int, log_path: Path) -> int:
    """locust, headless, in a process of its own; its step lines are echoed here, the rest logged."""
    bound = len(plan["steps"]) * plan["step_seconds"] + 60  # the shape ends it sooner; this is a backstop
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(plan, f)
    env = {**os.environ, "JIEFANG_LOAD_PLAN": f.name}
    command = [
        str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", f"http://127.0.0.1:{port}", "--run-time", f"{bound}s", "--stop-timeout", "5",
        "--exit-code-on-error", "0",  # errors are figures here; a crash still exits non-zero
    ]  # fmt: skip
    try:
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for line in process.stdout:
                log.write(line)
                if line.startswith("STEP "):
                    print(line[5:], end="", flush=True)
            return process.wait()
    finally:
        os.unlink(f.name)


def services_missing(args) -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return (
            "bench/load.py runs the site as deployed, on PostgreSQL and Redis with several workers "
            "(SQLite takes one writer at a time, and chat between workers needs Redis): set "
            "DATABASE_URL=postgres://... (and REDIS_URL). Skipped."
        )
    import redis

    try:
        redis.Redis.from_url(args.redis, socket_connect_timeout=3).ping()
    except (redis.RedisError, OSError) as exc:
        return f"bench/load.py needs Redis ({args.redis}): {exc}. Skipped."
    return None


def main(argv=None) -> int:
    args = parse_args(argv)
    steps = plan_steps(args.rates, args.user_rate)
    print(describe_workload(args, steps), flush=True)
    if args.dry_run:
        return 0
    missing = services_missing(args)
    if missing:
        print(missing)
        return 0
    if not (Path(sys.executable).parent / "locust").exists():
        print("locust is not installed: .venv/bin/pip install -r requirements.txt")
        return 1

    alias = feed.setup_django(args)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    city.ensure_database_exists(alias)
    meta = city.city_is_current(alias, args)
    if meta is None or args.rebuild:
        meta = city.build_city(alias, args, postgis=False)
    else:
        call_command("migrate", verbosity=0, interactive=False)
    feed.ensure_residents(alias, args, meta)

    run_seconds = len(steps) * args.step_seconds
    args.rate_limit_scale = limits_needed(args.user_rate, run_seconds, settings.JIEFANG_RATE_LIMITS)
    if args.rate_limit_scale > 1:
        print(
            f"at {args.user_rate:g} actions/s a resident would meet the per-user limits of posting or chat:"
            f" the servers run with JIEFANG_RATE_LIMIT_SCALE={args.rate_limit_scale:g}"
        )
    else:
        print("rate limits: the real ones (each resident stays under its per-user limits)")

    secret = "bench-" + "x" * 50
    remove_bench_residents()
    t0 = time.perf_counter()
    people = make_bench_residents(args, max(s["users"] for s in steps), secret)
    print(f"{len(people)} residents in {args.rooms} rooms, logged in, in {time.perf_counter() - t0:.0f} s", flush=True)
    settings_dict = connections[alias].settings_dict
    db_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    with connections[alias].cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
    connections[alias].close()

    env = server_env(db_url, args, secret)
    if not static_is_current():
        print("collecting static files (DEBUG off serves them from the manifest) ...", flush=True)
        collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
        subprocess.run(collect, cwd=ROOT, env=env, check=True)
    args.dir.mkdir(parents=True, exist_ok=True)
    out = args.dir / "load-postgresql.json"
    results_path = args.dir / "load-steps.json"
    results_path.unlink(missing_ok=True)
    print(
        f"servers: {describe_servers(args)} and a Celery worker, PostgreSQL {pg_version}, Redis;"
        f" locust from a second process; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    port, ws_port, processes = start_servers(env, args, args.dir)
    try:
        plan = {
            "residents": people,
            "steps": steps,
            "user_rate": args.user_rate,
            "step_seconds": args.step_seconds,
            "warmup_seconds": args.warmup_seconds,
            "all_steps": args.all_steps,
            "ws_base": f"ws://127.0.0.1:{ws_port}",
            "server_pgids": [p.pid for p in processes],
            "database_url": db_url,
            "app_name": APP_NAME,
            "feed_api_filters": FEED_API_FILTERS,
            "results": str(results_path),
        }
        code = run_locust(plan, port, args.dir / "load-locust.log")
    finally:
        stop_servers(processes)
        import redis

        redis.Redis.from_url(args.redis).delete(CELERY_QUEUE)  # tasks left for stalls about to go
        remove_bench_residents()
        from django.contrib.sessions.models import Session

        Session.objects.filter(session_key__in=[p["session"] for p in people]).delete()

    results = json.loads(results_path.read_text()) if results_path.exists() else []
    if not results:
        print(f"locust failed (exit {code}); see {args.dir / 'load-locust.log'}")
        return 1
    best = highest_held(results)
    print(
        f"highest rate held (no error, p95 < {GOAL_P95_MS:.0f} ms): "
        + (f"{best['rps']:.1f} req/s ({best['offered_per_s']:g}/s offered)" if best else "none of the steps")
    )
    estimate = cpu_bound_rps(results, os.cpu_count() or 1)
    if estimate:
        print(f"CPU alone would let {os.cpu_count()} idle cores serve about {estimate:.0f} req/s of this workload")
    report = {
        "machine": {**city.describe_machine([]), "postgresql": pg_version, "load": os.getloadavg()},
        "server": args.server,
        "servers": describe_servers(args),
        "workers": args.workers,
        "user_rate": args.user_rate,
        "rooms": args.rooms,
        "workload": WORKLOAD,
        "rate_limit_scale": args.rate_limit_scale,
        "steps": results,
        "highest_held": best,
        "cpu_bound_rps": estimate,
    }
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"figures written to {out}")
    # Errors at the lowest rate are faults, not capacity: the run fails. A step missing the latency
    # goal on a busy machine is a figure, not a failure.
    if code != 0:
        print(f"FAILED: locust exited with {code}; see {args.dir / 'load-locust.log'}")
        return 1
    if results[0]["errors"]:
        print(f"FAILED: {results[0]['errors']} errors at the lowest rate; see {args.dir / 'load-locust.log'}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
