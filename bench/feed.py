#!/usr/bin/env python3
"""Benchmark of the nearby feed: the feed query of residents with filters, and the feed page under load.

    .venv/bin/python bench/feed.py                  # SQLite, plus PostgreSQL when DATABASE_URL is set
    .venv/bin/python bench/feed.py --no-load        # the query only
    .venv/bin/python bench/feed.py --only postgresql --no-queries --server gunicorn  # the page, WSGI workers

It reuses the synthetic city of bench/nearby.py (1,000,000 stalls over 30 km x 30 km, built and
cached there) and adds 100,000 residents with home cells spread over the city. Then:

1. The feed query (`apps.market.selectors.stalls_feed`, through the ORM: open and unexpired stalls
   in the radius, ranked by km + days, a page of 20 with photos, pledges, seller and shop) for
   random residents at 1 km and 5 km, with a mix of filters, p50/p95 — beside a brute-force query
   (the same ranking and filters over every row, no cell index) in the same run.
2. The HTML feed page under load: uvicorn's ASGI workers, each on a socket of its own (`manage.py
   serve`, everything in one server, one page at a time per worker), or gunicorn's WSGI workers
   (`--server gunicorn`, as the README's split deployment serves the pages) serve the real site against
   the benchmark database (Redis for the cache when REDIS_URL is set); wrk, a second process on
   loopback, asks for the home page as logged-in residents for a bounded time, while neighbours
   publish stalls across the city (`--changes-per-second`, 0.5 by default), each rebuilding the shared
   cards of the feeds around it. It prints requests per second, p50/p95/p99 latency, the error rate
   and the servers' CPU per request.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import nearby as city  # noqa: E402  (the city builder of bench/nearby.py)

DEFAULT_RESIDENTS = 100_000
RADII_M = (1000, 5000)
PAGE = 20
GOALS_P95_MS = {1000: 15.0, 5000: 50.0}
FILTER_MIX = (
    {},
    {"kind": "sale"},
    {"category": "fruit_veg"},
    {"price_min": 10, "price_max": 100},
    {"seller": "shops"},
    {"free_only": True},
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=city.DEFAULT_ROWS, help="stalls in the city (default 1,000,000)")
    p.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS)
    p.add_argument("--queries", type=int, default=200, help="timed feed queries per radius")
    p.add_argument("--scan-queries", type=int, default=10, help="timed brute-force queries per radius")
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--dir", type=Path, default=ROOT / "var" / "bench")
    p.add_argument("--only", choices=("sqlite", "postgresql"))
    p.add_argument("--no-load", action="store_true", help="skip the page load test")
    p.add_argument("--no-queries", action="store_true", help="skip the query timings (the page load test only)")
    p.add_argument("--load-seconds", type=int, default=40)
    p.add_argument(
        "--connections",
        type=int,
        default=8,
        help="wrk's connections: each waits for its answer before asking again, so the mean latency is"
        " connections / throughput (8 at 300 req/s: 27 ms); twice the workers keeps every worker busy",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server worker processes (default: 3 for uvicorn, each serving one page at a time, which beat 4"
        " in every pairing on a 2-core machine that also runs PostgreSQL, Redis and wrk; 4 for gunicorn;"
        " docs/benchmarks.md, the feed's eighth round)",
    )
    p.add_argument(
        "--changes-per-second",
        type=float,
        default=0.5,
        help="new stalls published across the city while the page is under load, each rebuilding the"
        " shared cards of the feeds around it (default 0.5: five times the city's own rate, 1M stalls"
        " over 120 days, one every 10 s)",
    )
    p.add_argument(
        "--server",
        choices=("uvicorn", "uvicorn-shared", "gunicorn"),
        default="uvicorn",
        help="uvicorn: the ASGI application serves everything, uvicorn workers each on a socket of its own"
        " (manage.py serve); uvicorn-shared: uvicorn's own --workers, on one shared socket; gunicorn: WSGI"
        " workers serve the pages (the split deployment of the README, where uvicorn keeps only the"
        " WebSockets)",
    )
    p.add_argument("--sessions", type=int, default=400, help="logged-in residents the load is spread over")
    p.add_argument(
        "--pages-at-once",
        type=int,
        default=1,
        help="uvicorn: pages each worker serves at once (JIEFANG_ASGI_PAGES_AT_ONCE; 0: no limit). One, as"
        " a sync worker of gunicorn does, cost the least CPU per page in docs/benchmarks.md",
    )
    args = p.parse_args(argv)
    if args.workers is None:
        args.workers = 4 if args.server == "gunicorn" else 3
    args.no_postgis = True
    return args


# --- Residents ------------------------------------------------------------------------------------


def ensure_residents(alias: str, args, meta: dict) -> None:
    """100,000 residents with homes, as `resident_home_set` stores them (the cell's centre)."""
    from django.db import connections
    from h3.api import basic_int as h3i

    from apps.accounts.models import Resident
    from apps.nearby import geo

    conn = connections[alias]
    with conn.cursor() as cur:
        cur.execute("SELECT value FROM bench_meta WHERE key = 'meta'")
        row = cur.fetchone()
        current = json.loads(row[0]) if row else {}
    if current.get("feed_residents") == args.residents:
        return
    t0 = time.perf_counter()
    print(f"  [{alias}] adding {args.residents:,} residents with homes ...", flush=True)
    rng = random.Random(args.seed + 7)
    seen_at = datetime.fromisoformat(meta["now"]) - timedelta(days=1)
    batch = []
    for i in range(args.residents):
        lat, lng = city.random_city_point(rng, city.ORIGIN_SIDE_M)
        home = h3i.latlng_to_cell(lat, lng, 9)
        clat, clng = h3i.cell_to_latlng(home)
        r = Resident(
            username=f"neighbour{i}",
            email=f"neighbour{i}@bench.invalid",
            display_name=f"Neighbour {i}",
            password="!",
            home_cell=home,
            radius_m=rng.choice(RADII_M),
            feed_seen_at=seen_at,
            feed_visit_at=seen_at,
        )
        r.place_at(geo.Point(clat, clng))
        batch.append(r)
        if len(batch) == 5000:
            Resident.objects.using(alias).bulk_create(batch, batch_size=5000)
            batch = []
    if batch:
        Resident.objects.using(alias).bulk_create(batch, batch_size=5000)
    current["feed_residents"] = args.residents
    with conn.cursor() as cur:
        cur.execute("UPDATE bench_meta SET value = %s WHERE key = 'meta'", [json.dumps(current)])
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
    print(f"  [{alias}] residents added in {time.perf_counter() - t0:.0f} s", flush=True)


# --- The feed query -------------------------------------------------------------------------------


def feed_queries(alias: str, args, now: datetime) -> dict:
    from django.db import connections, transaction
    from django.db.models import F, FloatField, Value

    from apps.accounts.models import Resident
    from apps.market import selectors
    from apps.market.models import Stall
    from apps.nearby.selectors import great_circle_m

    conn = connections[alias]
    rng = random.Random(args.seed + 11)
    ids = list(Resident.objects.using(alias).filter(home_cell__isnull=False).values_list("pk", flat=True)[:50_000])

    def residents(n):
        return list(Resident.objects.using(alias).filter(pk__in=rng.sample(ids, n)))

    def run_feed(resident, radius, filters):
        page = selectors.stalls_feed(
            origin=resident.point,
            radius_m=radius,
            viewer=resident,
            filters=selectors.FeedFilters(**filters),
            limit=PAGE,
            now=now,
        )
        return page.items  # photos, pledges, seller and shop come prefetched, as the page renders them

    def brute(resident, radius, filters):
        qs = selectors.FeedFilters(**filters).apply(
            Stall.objects.using(alias).filter(status=Stall.Status.OPEN, expires_at__gt=now)
        )
        qs = (
            qs.annotate(distance_m=great_circle_m(resident.point))
            .filter(distance_m__lte=radius)
            .annotate(rank=F("distance_m") / Value(1000.0, output_field=FloatField()) - F("fresh_days"))
            .order_by("rank", "pk")[:PAGE]
        )
        if conn.vendor == "sqlite":
            sql, params = qs.query.get_compiler(using=alias).as_sql()
            sql = sql.replace('FROM "market_stall"', 'FROM "market_stall" NOT INDEXED', 1)
            return list(Stall.objects.using(alias).raw(sql, params))
        with transaction.atomic(using=alias), conn.cursor() as cur:
            for kind in ("indexscan", "indexonlyscan", "bitmapscan"):
                cur.execute(f"SET LOCAL enable_{kind} = off")
            return list(qs)

    out = {}
    for radius in RADII_M:
        people = residents(args.queries + 10)
        for r in people[:10]:  # warm up
            run_feed(r, radius, {})
        times, brute_times, mismatches = [], [], 0
        for i, r in enumerate(people[10:]):
            filters = FILTER_MIX[i % len(FILTER_MIX)]
            t = time.perf_counter()
            got = run_feed(r, radius, filters)
            times.append((time.perf_counter() - t) * 1000)
            if i < args.scan_queries:
                t = time.perf_counter()
                oracle = brute(r, radius, filters)
                brute_times.append((time.perf_counter() - t) * 1000)
                mismatches += [s.pk for s in got] != [s.pk for s in oracle]
        res = {
            "radius_m": radius,
            "feed_ms": {"p50": city.percentile(times, 0.5), "p95": city.percentile(times, 0.95)},
            "brute_ms": {"p50": city.percentile(brute_times, 0.5), "p95": city.percentile(brute_times, 0.95)},
            "mismatches": mismatches,
            "goal_p95_ms": GOALS_P95_MS[radius],
        }
        res["brute_over_feed_p50"] = res["brute_ms"]["p50"] / res["feed_ms"]["p50"]
        out[radius] = res
        print(
            f"[{alias}] feed {radius:>4} m: p50 {res['feed_ms']['p50']:.1f} ms / p95 {res['feed_ms']['p95']:.1f} ms"
            f" (goal p95 < {GOALS_P95_MS[radius]:.0f} ms); brute force p50 {res['brute_ms']['p50']:.0f} ms"
            f" / p95 {res['brute_ms']['p95']:.0f} ms, {res['brute_over_feed_p50']:.0f}x slower;"
            f" answers differing from brute force: {mismatches}",
            flush=True,
        )
    return out


# --- The page under load --------------------------------------------------------------------------

WRK_SCRIPT = r"""
local cookies = {}
for line in io.lines(os.getenv("JIEFANG_BENCH_COOKIES")) do cookies[#cookies + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/", {["Cookie"] = "sessionid=" .. cookies[(n % #cookies) + 1]})
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"errors\": %d, \"non2xx\": %d, "
    .. "\"p50_ms\": %.2f, \"p95_ms\": %.2f, \"p99_ms\": %.2f}\n",
    summary.requests, summary.duration / 1e6, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def visit_each_once(base: str, keys: list[str], at_once: int = 8) -> None:
    """The feed page of every session once (eight at a time); a page that fails stops the bench."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def visit(key: str) -> None:
        request = urllib.request.Request(base, headers={"Cookie": f"sessionid={key}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    with ThreadPoolExecutor(at_once) as pool:
        list(pool.map(visit, keys))


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("  installing wrk (Debian package) for the load test ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    path = shutil.which("wrk")
    if not path:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        path = shutil.which("wrk")
    if not path:
        sys.exit("wrk is needed for the load test (apt-get install wrk), or pass --no-load")
    return path


def make_sessions(alias: str, args, secret: str) -> list[str]:
    """Session rows for residents spread over the city, as a login would leave them."""
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from apps.accounts.models import Resident

    settings.SECRET_KEY = secret
    rng = random.Random(args.seed + 13)
    ids = list(Resident.objects.using(alias).filter(home_cell__isnull=False).values_list("pk", flat=True)[:50_000])
    people = Resident.objects.using(alias).filter(pk__in=rng.sample(ids, args.sessions))
    rows, keys = [], []
    for r in people:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            "_auth_user_id": str(r.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": r.get_session_auth_hash(),
        }
        rows.append(
            Session(
                session_key=key, session_data=SessionStore().encode(data), expire_date=timezone.now() + timedelta(1)
            )
        )
        keys.append(key)
    Session.objects.using(alias).bulk_create(rows)
    return keys


class StallWriter(threading.Thread):
    """Publishes residents' stalls at random homes of the city at a steady rate while the page is
    under load, as neighbours do: each marks its area, and the shared cards of every feed around it
    are rebuilt at the next look (apps/market/card_cache.py). The stalls are removed afterwards."""

    def __init__(self, alias: str, args):
        super().__init__(daemon=True)
        self.alias, self.rate = alias, args.changes_per_second
        self.rng = random.Random(args.seed + 29)
        self.ids: list[int] = []
        self._stop_event = threading.Event()

    @property
    def published(self) -> int:
        return len(self.ids)

    def run(self):
        from django.db import connections
        from django.utils import timezone

        from apps.accounts.models import Resident
        from apps.market.models import Stall

        if self.rate <= 0:
            return
        try:
            people = list(
                Resident.objects.using(self.alias)
                .filter(home_cell__isnull=False)
                .values_list("pk", "lat", "lng")[:20_000]
            )
            interval, due = 1.0 / self.rate, time.monotonic()
            while not self._stop_event.wait(max(0.0, due - time.monotonic())):
                due += interval
                pk, lat, lng = people[self.rng.randrange(len(people))]
                now = timezone.now()
                stall = Stall(
                    seller_id=pk,
                    kind="sale",
                    category=city.CATEGORIES[self.rng.randrange(len(city.CATEGORIES))],
                    title=f"Published under load {len(self.ids)}",
                    price="12.00",
                    expires_at=now + timedelta(days=7),
                    fresh_days=now.timestamp() / 86400.0,
                )
                stall.place_at(geo_point(lat, lng))
                stall.save(using=self.alias)  # autocommit: its area is marked at once
                self.ids.append(stall.pk)
        finally:
            connections.close_all()

    def stop(self):
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=10)

    def remove(self):
        from apps.market.models import Stall

        Stall.objects.using(self.alias).filter(pk__in=self.ids).delete()


def geo_point(lat: float, lng: float):
    from apps.nearby import geo

    return geo.Point(lat, lng)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the processes of one process group: the server's."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...; utime, stime at 11, 12
            total += int(fields[11]) + int(fields[12])
    return total / tick


def page_load(alias: str, args) -> dict:
    from django.db import connections

    settings_dict = connections[alias].settings_dict
    if connections[alias].vendor == "postgresql":
        db_url = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
    else:
        db_url = f"sqlite:///{settings_dict['NAME']}"
    secret = "bench-" + "x" * 50
    keys = make_sessions(alias, args, secret)
    wrk = ensure_wrk()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secret,
        "DJANGO_HTTPS": "false",  # plain HTTP on loopback: no redirect to https
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Under ASGI persistent connections are per thread and pile up: a pool. WSGI workers have one
        # thread each: Django's persistent connections.
        "DATABASE_POOL": "true" if db_url.startswith("postgres") and args.server.startswith("uvicorn") else "false",
        "DATABASE_CONN_MAX_AGE": "60",
        "JIEFANG_ASGI_PAGES_AT_ONCE": str(args.pages_at_once),
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    bin_dir = Path(sys.executable).parent
    uvicorn_address = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    if args.server == "gunicorn":
        command = [
            str(bin_dir / "gunicorn"),
            "neighborhood.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ]
    elif args.server == "uvicorn":
        # each worker on its own SO_REUSEPORT socket (apps/core/management/commands/serve.py)
        command = [sys.executable, "manage.py", "serve", *uvicorn_address]
    else:
        command = [
            str(bin_dir / "uvicorn"),
            "neighborhood.asgi:application",
            *uvicorn_address,
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            cookies = Path(tmp) / "cookies.txt"
            cookies.write_text("\n".join(keys) + "\n")
            script = Path(tmp) / "feed.lua"
            script.write_text(WRK_SCRIPT)
            wenv = {**os.environ, "JIEFANG_BENCH_COOKIES": str(cookies)}
            base = f"http://127.0.0.1:{port}/"
            # warm-up: every resident's page once, as a site in use has their cards (the 400 first
            # looks are a third of a 30 s run on a slow machine), then every worker busy for 3 s
            visit_each_once(base, keys)
            subprocess.run([wrk, "-t1", "-c8", "-d3s", "-s", str(script), base], env=wenv, capture_output=True)
            cpu_before = group_cpu_seconds(server.pid)
            writer = StallWriter(alias, args)
            writer.start()
            done = subprocess.run(
                [
                    wrk,
                    "-t1",
                    f"-c{args.connections}",
                    f"-d{args.load_seconds}s",
                    "--timeout",
                    "5s",
                    "-s",
                    str(script),
                    base,
                ],
                env=wenv,
                capture_output=True,
                text=True,
                check=True,
            )
        cpu = group_cpu_seconds(server.pid) - cpu_before
        writer.stop()
        line = next(x for x in done.stdout.splitlines() if x.startswith("JSON "))
        res = json.loads(line[5:])
        res["server_cpu_ms_per_request"] = cpu * 1000 / max(1, res["requests"])
        res["stalls_published"] = writer.published
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        if "writer" in locals():
            writer.stop()
            writer.remove()
        from django.contrib.sessions.models import Session

        Session.objects.using(alias).filter(session_key__in=keys).delete()
        server.wait(timeout=30)
    res["rps"] = res["requests"] / res["seconds"]
    res["error_rate"] = res["errors"] / max(1, res["requests"])
    res.update(
        {
            "server": args.server,
            "workers": args.workers,
            "pages_at_once": args.pages_at_once if args.server.startswith("uvicorn") else 1,
            "connections": args.connections,
            "sessions": args.sessions,
        }
    )
    print(
        f"[{alias}] {res['stalls_published']} stalls published during the load;"
        f" feed page: {res['rps']:.0f} req/s, p50 {res['p50_ms']:.1f} ms, p95 {res['p95_ms']:.1f} ms,"
        f" p99 {res['p99_ms']:.1f} ms, errors {res['error_rate']:.2%} ({args.workers} {args.server} workers,"
        f" {res['pages_at_once'] or 'any number of'} page(s) at once each,"
        f" {args.connections} connections, {args.sessions} residents; goal >= 300 req/s, p95 < 100 ms);"
        f" server CPU {res['server_cpu_ms_per_request']:.2f} ms per request",
        flush=True,
    )
    return res


def setup_django(args) -> str:
    """One database per process, as the default alias, so the real selectors run unchanged."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neighborhood.settings")
    import django
    import environ
    from django.conf import settings

    args.dir.mkdir(parents=True, exist_ok=True)
    if args.only == "postgresql":
        url = city.bench_postgres_url(args.rows)
        default = city.project_db_config(url)
    else:
        default = {
            **environ.Env.db_url_config(f"sqlite:///{args.dir / f'nearby-{args.rows}.sqlite3'}"),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    settings.DATABASES = {"default": default}
    settings.DEBUG = False
    django.setup()
    return "default"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.only is None:
        # each database in a process of its own, where it is the default one
        todo = ["sqlite"] + (["postgresql"] if city.bench_postgres_url(args.rows) else [])
        codes = [subprocess.call([sys.executable, __file__, *(argv or sys.argv[1:]), "--only", db]) for db in todo]
        return max(codes)
    alias = setup_django(args)
    name = args.only
    city.ensure_database_exists(alias)
    meta = city.city_is_current(alias, args)
    if meta is None or args.rebuild:
        meta = city.build_city(alias, args, postgis=False)
    else:
        # a cached city may predate migrations of other tables (residents gain fields over time)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    ensure_residents(alias, args, meta)
    now = datetime.fromisoformat(meta["now"])
    results = {"machine": city.describe_machine([alias]), "database": name}
    if not args.no_queries:
        results["queries"] = {str(k): v for k, v in feed_queries(alias, args, now).items()}
    if not args.no_load:
        results["page"] = page_load(alias, args)
    out = args.dir / f"feed-{name}-{args.rows}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"figures written to {out}")
    if not args.no_queries:
        met = all(results["queries"][str(r)]["feed_ms"]["p95"] <= GOALS_P95_MS[r] for r in RADII_M)
        print(f"[{name}] query goals {'met' if met else 'missed'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
