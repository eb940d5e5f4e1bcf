#!/usr/bin/env python3
"""Benchmark of the nearby digest: 100,000 residents over a city of 1,000,000 stalls.

    .venv/bin/python bench/digest.py                      # PostgreSQL when DATABASE_URL is set, else SQLite
    .venv/bin/python bench/digest.py --only sqlite
    .venv/bin/python bench/digest.py --residents 10000    # a smaller run on the same city
    .venv/bin/python bench/digest.py --rebuild            # regenerate the city
    sudo .venv/bin/python bench/digest.py --nice -10      # shielded from other work (bench/nearby.py's --nice)

The city lives in a database of its own (PostgreSQL `jiefang_bench_digest` on the server of
DATABASE_URL, or var/bench/digest-<rows>.sqlite3), built once with the project's migrations and kept:
20,000 shops (some opened in the last day, with pledges), 1,000,000 stalls over 120 days (40 % at
shops, 60 % at residents' home cells, as bench/nearby.py generates them, photos on the recent ones),
100,000 residents with home cells over the middle 20 km x 20 km, radii mostly 1 km, 30 % verified
(some in the last day), 1.5 followed shops each, all on a daily digest. Its clock is frozen at build
time.

Measured, in this order:
1. The scheduler: the due query for all residents (one time zone) and writing their delivery rows
   in batches (rolled back afterwards).
2. Build and render every resident's digest (the real `digest_build` + `emails.digest_message`, the
   MIME bytes as the SMTP hand-off sends them), streamed with `iterator()`, in 2 processes (one
   worker on 2 cores): wall time, digests per second, peak RSS of each process at 10 %, 50 % and
   100 % of its share (flat = memory does not grow with residents), and tracemalloc's peak over the
   first 500 and 2,000 digests of a third run.
3. The whole delivery path for a sample (`services.deliveries_send`: claim, build, render, the
   hand-off commit, sent; to Django's dummy mail backend), in one process.
Figures go to var/bench/digest-<database>-<rows>.json; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import nearby as city  # noqa: E402  (the stall generator and loaders of bench/nearby.py)

DATA_VERSION = 1
DEFAULT_RESIDENTS = 100_000
SHOPS = 20_000
RADII = ((1000, 0.80), (500, 0.10), (2000, 0.07), (5000, 0.03))
GOAL_SECONDS = 300
WORKERS = 2


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=city.DEFAULT_ROWS, help="stalls in the city (default 1,000,000)")
    p.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS, help="residents in the city (default 100,000)")
    p.add_argument("--limit", type=int, default=None, help="digest only the first N residents (default: all)")
    p.add_argument("--sample", type=int, default=2000, help="deliveries in the full-path sample")
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--dir", type=Path, default=ROOT / "var" / "bench")
    p.add_argument("--only", choices=("sqlite", "postgresql"))
    p.add_argument(
        "--nice",
        type=int,
        default=None,
        help="run the benchmark's processes and their PostgreSQL backends at this niceness, and with a "
        "negative one (as root) in a cgroup with a large CPU share, as bench/nearby.py --nice does: the "
        "wall clock then measures the digests more than the queue behind other work on a shared machine",
    )
    # `make bench BENCH_ARGS=...` hands every script the same options: ignore the others' ones.
    args, _others = p.parse_known_args(argv)
    return args


def postgres_url(args) -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return None
    parts = urlsplit(url)
    name = "jiefang_bench_digest"
    if (args.rows, args.residents) != (city.DEFAULT_ROWS, DEFAULT_RESIDENTS):
        name += f"_{args.rows}_{args.residents}"
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def setup_django(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neighborhood.settings")
    import django
    import environ
    from django.conf import settings

    args.dir.mkdir(parents=True, exist_ok=True)
    if args.only == "postgresql":
        default = city.project_db_config(postgres_url(args))
    else:
        path = args.dir / f"digest-{args.rows}-{args.residents}.sqlite3"
        default = {
            **environ.Env.db_url_config(f"sqlite:///{path}"),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    settings.DATABASES = {"default": default}
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    django.setup()


# --- The city -------------------------------------------------------------------------------------


def _meta_wanted(args) -> dict:
    return {"version": DATA_VERSION, "rows": args.rows, "residents": args.residents, "seed": args.seed}


def city_is_current(args) -> dict | None:
    from django.db import connection

    try:
        with connection.cursor() as cur:
            cur.execute("SELECT value FROM bench_meta WHERE key = 'digest'")
            row = cur.fetchone()
    except Exception:  # noqa: BLE001 (no such table: not built yet)
        return None
    if not row:
        return None
    meta = json.loads(row[0])
    return meta if all(meta.get(k) == v for k, v in _meta_wanted(args).items()) else None


def _choose_radius(rng: random.Random) -> int:
    u, acc = rng.random(), 0.0
    for radius, share in RADII:
        acc += share
        if u < acc:
            return radius
    return RADII[0][0]


def build_city(args) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from h3.api import basic_int as h3i

    from apps.accounts.models import Resident
    from apps.market.models import StallPhoto
    from apps.nearby import geo
    from apps.notifications.models import NotificationPreferences
    from apps.shops import pledges as catalogue
    from apps.shops.models import Shop, ShopFollow, ShopPledge

    t0 = time.perf_counter()
    city.reset_database("default", args)
    call_command("migrate", verbosity=0, interactive=False)
    now = datetime.now().astimezone().replace(second=0, microsecond=0)
    rng = random.Random(args.seed)

    print(f"  {args.residents:,} residents ...", flush=True)
    residents = []
    for i in range(args.residents):
        lat, lng = city.random_city_point(rng, city.ORIGIN_SIDE_M)
        home = h3i.latlng_to_cell(lat, lng, 9)
        r = Resident(
            username=f"neighbour{i}",
            email=f"neighbour{i}@bench.invalid",
            display_name=f"Neighbour {i}",
            password="!",
            home_cell=home,
            radius_m=_choose_radius(rng),
            language="zh-hans" if rng.random() < 0.7 else "en",
            date_joined=now - timedelta(days=200),
        )
        if rng.random() < 0.3:
            # verified over the last 60 days; about 1 in 60 of those in the last day
            r.residency_verified_at = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
        r.place_at(geo.cell_center(home))
        residents.append(r)
    Resident.objects.bulk_create(residents, batch_size=5000)
    resident_ids = list(Resident.objects.order_by("pk").values_list("pk", flat=True))
    homes = dict(Resident.objects.values_list("pk", "lat").iterator())
    lngs = dict(Resident.objects.values_list("pk", "lng").iterator())
    NotificationPreferences.objects.bulk_create(
        [NotificationPreferences(resident_id=pk, digest="daily", digest_hour=8) for pk in resident_ids],
        batch_size=5000,
    )

    print(f"  {SHOPS:,} shops, pledges and follows ...", flush=True)
    shops = []
    for i in range(SHOPS):
        lat, lng = city.random_city_point(rng)
        shop = Shop(owner_id=resident_ids[i % len(resident_ids)], name=f"Shop {i}", category="groceries")
        shop.place_at(geo.Point(lat, lng))
        shops.append(shop)
    Shop.objects.bulk_create(shops, batch_size=5000)
    shop_rows = list(Shop.objects.order_by("pk").values_list("pk", "owner_id", "lat", "lng"))
    # 1 % of shops opened in the last day (news); the rest long ago. auto_now_add: set after.
    recent = [pk for pk, *_ in shop_rows if rng.random() < 0.01]
    Shop.objects.exclude(pk__in=recent).update(created_at=now - timedelta(days=400))
    Shop.objects.filter(pk__in=recent).update(created_at=now - timedelta(hours=12))
    kinds = list(catalogue.CATALOGUE)
    pledges = []
    for pk, *_ in shop_rows:
        for kind in rng.sample(kinds, rng.choice((0, 0, 1, 2))):
            pledges.append(ShopPledge(shop_id=pk, kind=kind, terms=catalogue.kind_get(kind).default_terms()))
    ShopPledge.objects.bulk_create(pledges, batch_size=5000)
    # pledges taken over the last 120 days: a few in the last day
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE shops_shoppledge SET created_at = %s WHERE id %% 120 <> 0",
            [now - timedelta(days=30)],
        )
        cur.execute(
            "UPDATE shops_shoppledge SET created_at = %s WHERE id %% 120 = 0",
            [now - timedelta(hours=6)],
        )
    follows = set()
    for rid in resident_ids:
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            follows.add((rng.randrange(len(shop_rows)), rid))
    ShopFollow.objects.bulk_create(
        [ShopFollow(shop_id=shop_rows[i][0], resident_id=rid) for i, rid in follows], batch_size=5000
    )

    print(f"  {args.rows:,} stalls ...", flush=True)
    sellers = resident_ids[: max(10, args.rows // city.STALLS_PER_SELLER)]

    def stalls():
        for i in range(args.rows):
            from_shop = rng.random() < 0.4
            if from_shop:
                shop_id, owner, lat, lng = shop_rows[rng.randrange(len(shop_rows))]
                seller = owner
            else:
                shop_id, seller = None, sellers[rng.randrange(len(sellers))]
                lat, lng = homes[seller], lngs[seller]
            yield city.stall_row(rng, i, lat, lng, from_shop=from_shop, seller=seller, shop_id=shop_id, now=now)

    columns = city._stall_columns()
    if connection.vendor == "sqlite":
        city._load_sqlite(connection, columns, stalls())
    else:
        city._load_postgresql(connection, columns, stalls(), postgis=False)
    connection.close()

    print("  photos on the last 8 days' stalls ...", flush=True)
    recent_stalls = (
        city_stalls_since(now - timedelta(days=8)).values_list("pk", flat=True).order_by("pk").iterator(chunk_size=5000)
    )
    batch = []
    for pk in recent_stalls:
        if rng.random() < 0.6:
            batch.append(StallPhoto(stall_id=pk, image=f"stalls/bench-{pk % 97}.jpg"))
        if len(batch) == 5000:
            StallPhoto.objects.bulk_create(batch)
            batch = []
    StallPhoto.objects.bulk_create(batch)

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE bench_meta (key varchar(20) PRIMARY KEY, value text)")
        meta = {**_meta_wanted(args), "now": now.isoformat()}
        cur.execute("INSERT INTO bench_meta VALUES ('digest', %s)", [json.dumps(meta)])
        cur.execute("ANALYZE")
    print(f"  city built in {time.perf_counter() - t0:.0f} s", flush=True)
    return meta


def city_stalls_since(moment):
    from apps.market.models import Stall

    return Stall.objects.filter(created_at__gt=moment)


# --- Measuring ----------------------------------------------------------------------------------


def measure_scheduler(now: datetime) -> dict:
    from django.db import transaction

    from apps.notifications import services

    t0 = time.perf_counter()
    query, periods = services.digests_due_query(time_zone="Asia/Shanghai", now=now)
    due = list(query)
    t_query = time.perf_counter() - t0
    t1 = time.perf_counter()
    with transaction.atomic():
        for start in range(0, len(due), 200):
            services._digest_batch_queue(due[start : start + 200], periods=periods, now=now)
        transaction.set_rollback(True)  # measured, not kept: nothing is queued either
    return {"due": len(due), "due_query_s": round(t_query, 2), "rows_written_s": round(time.perf_counter() - t1, 2)}


def _resident_ids(limit: int | None) -> list[int]:
    from apps.accounts.models import Resident

    # the scheduler's order: neighbours together
    qs = Resident.objects.filter(home_cell__isnull=False).order_by("home_cell", "pk").values_list("pk", flat=True)
    return list(qs[:limit] if limit else qs)


def _shield_backend(connection, niceness: int | None) -> None:
    """Puts a worker process's own PostgreSQL backend beside it: the process itself inherited its
    niceness and cgroup from the benchmark's (`nearby.renice`), a backend started for its new
    connection did not. Queries run in that backend alone (no parallel workers outside the shield
    and outside the measured CPU)."""
    pid = _db_backend_pid(connection)
    if niceness is None or pid is None:
        return
    os.setpriority(os.PRIO_PROCESS, pid, niceness)
    procs = city.CPU_CGROUP / "jiefang-bench" / "cgroup.procs"
    if niceness < 0 and os.access(procs, os.W_OK):
        procs.write_text(str(pid))
    with connection.cursor() as cur:
        cur.execute("SET max_parallel_workers_per_gather = 0")


def _render_share(
    ids: list[int], now: datetime, out, traced: tuple[int, ...] = (), niceness: int | None = None
) -> None:
    """One process's share, as the worker does it: batches of 200 residents in home-cell order, each
    batch read as `services._Batch` reads it (last digests, conversations, followed shops, shared
    area news) and each digest composed by `services._compose` (build, render, MIME), serialised to
    the bytes the SMTP hand-off sends. Residents are streamed with iterator(), nothing is kept."""
    from django.db import connection

    from apps.accounts.models import Resident
    from apps.notifications import services
    from apps.notifications.models import EmailDelivery

    connection.close()
    connection.ensure_connection()
    _shield_backend(connection, niceness)
    db_pid = _db_backend_pid(connection)
    cpu0, db0 = _own_cpu(), _process_cpu(db_pid)
    checkpoints = {max(1, len(ids) // 10): "10%", max(1, len(ids) // 2): "50%", len(ids): "100%"}
    rss = {}
    stats = {"digests": 0, "empty": 0, "bytes": 0, "stalls": 0, "traced_peak_kb": {}}
    t0 = time.perf_counter()
    n = 0
    batch_size = 200
    for start in range(0, len(ids), batch_size):
        residents = (
            Resident.objects.filter(pk__in=ids[start : start + batch_size])
            .select_related("notification_preferences")
            .order_by("home_cell", "pk")
        )
        deliveries = [
            EmailDelivery(pk=r.pk, resident=r, kind="digest", period="D-bench", not_before=now)
            for r in residents.iterator(chunk_size=batch_size)
        ]
        batch = services._Batch(deliveries, now)
        for delivery in deliveries:
            n += 1
            message, fields = services._compose(delivery, batch)
            if message is None:
                stats["empty"] += 1
            else:
                stats["bytes"] += len(message.message().as_bytes(linesep="\r\n"))
                stats["digests"] += 1
                stats["stalls"] += fields["summary"]["stalls"] + fields["summary"]["followed"]
            if n in checkpoints:
                rss[checkpoints[n]] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            if n in traced:
                stats["traced_peak_kb"][n] = tracemalloc.get_traced_memory()[1] // 1024
        del batch, deliveries
    stats["seconds"] = time.perf_counter() - t0
    stats["cpu_s"] = _own_cpu() - cpu0
    stats["db_cpu_s"] = _process_cpu(db_pid) - db0
    stats["rss_mb"] = rss
    stats["residents"] = n
    out.put(stats)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _db_backend_pid(connection) -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def _process_cpu(pid: int | None) -> float:
    """CPU seconds of a local process (the PostgreSQL backend serving us), from /proc."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_rendering(ids: list[int], now: datetime, niceness: int | None = None) -> dict:
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    # contiguous halves of the home-cell order, as two worker processes would take batches
    half = (len(ids) + 1) // 2
    shares = [ids[:half], ids[half:]]
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_render_share, args=(share, now, out, (), niceness)) for share in shares]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    total = sum(r["residents"] for r in results)
    sent = sum(r["digests"] for r in results)
    cpu = sum(r["cpu_s"] + r["db_cpu_s"] for r in results)
    cpu_ms = 1000 * cpu / max(1, total)
    return {
        # What the load of other processes on the machine cannot inflate: CPU time per digest, ours
        # and the database backend's, and the rate two otherwise idle cores would give at that cost.
        "cpu_ms_per_digest": round(cpu_ms, 2),
        "python_cpu_ms_per_digest": round(1000 * sum(r["cpu_s"] for r in results) / max(1, total), 2),
        "db_cpu_ms_per_digest": round(1000 * sum(r["db_cpu_s"] for r in results) / max(1, total), 2),
        "projected_per_s_on_2_idle_cores": round(2000 / cpu_ms, 1) if cpu_ms else None,
        "projected_100k_s": round(DEFAULT_RESIDENTS * cpu_ms / 2000, 1) if cpu_ms else None,
        "residents": total,
        "processes": WORKERS,
        "wall_s": round(wall, 1),
        "load_avg_after": os.getloadavg(),
        "residents_per_s": round(total / wall, 1),
        "digests_with_news": sent,
        "empty": sum(r["empty"] for r in results),
        "avg_message_kb": round(sum(r["bytes"] for r in results) / max(1, sent) / 1024, 1),
        "avg_stalls_shown": round(sum(r["stalls"] for r in results) / max(1, sent), 2),
        "rss_mb_per_process": [r["rss_mb"] for r in results],
    }


def measure_tracemalloc(ids: list[int], now: datetime, niceness: int | None = None) -> dict:
    """Python heap peak over the first 500 and 2,000 digests: flat if nothing accumulates."""
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()

    def run():
        tracemalloc.start()
        _render_share(ids[:2000], now, out, traced=(500, 2000), niceness=niceness)

    p = ctx.Process(target=run)
    p.start()
    result = out.get()
    p.join()
    return {str(k): v for k, v in result["traced_peak_kb"].items()}


def measure_delivery_path(ids: list[int], now: datetime, sample: int) -> dict:
    """claim → build → render → hand-off commit → sent, to the dummy backend, in batches of 200."""
    from apps.notifications import services
    from apps.notifications.models import EmailDelivery

    period = f"B{int(time.time())}"
    rows = EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(resident_id=pk, kind="digest", period=period, not_before=now - timedelta(seconds=1))
            for pk in ids[:sample]
        ]
    )
    delivery_ids = (
        [r.pk for r in rows]
        if rows and rows[0].pk
        else list(EmailDelivery.objects.filter(period=period).values_list("pk", flat=True))
    )
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    for start in range(0, len(delivery_ids), 200):
        for k, v in services.deliveries_send(delivery_ids=delivery_ids[start : start + 200], now=now).items():
            counts[k] = counts.get(k, 0) + v
    seconds = time.perf_counter() - t0
    EmailDelivery.objects.filter(period=period).delete()
    per_s = round(len(delivery_ids) / seconds, 1)
    return {"deliveries": len(delivery_ids), "seconds": round(seconds, 1), "per_s": per_s, **counts}


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.only is None:
        db = "postgresql" if postgres_url(args) else "sqlite"
        return subprocess.call([sys.executable, __file__, *(argv or sys.argv[1:]), "--only", db])
    setup_django(args)
    from django.db import connection

    if args.only == "postgresql":
        city.ensure_database_exists("default")
    meta = None if args.rebuild else city_is_current(args)
    if meta is None:
        print(f"[{args.only}] building the digest city ...", flush=True)
        meta = build_city(args)
    else:
        # The schema moves on (new columns, new apps); the city's rows stay good.
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    now = datetime.fromisoformat(meta["now"])
    ids = _resident_ids(args.limit)
    # This process and its backend; the worker processes inherit it, and shield their own backends.
    city.renice("default", args.nice)
    results = {"database": args.only, "rows": args.rows, "residents": len(ids), "machine": _machine(connection)}
    results["nice"] = args.nice
    print(f"[{args.only}] scheduler ...", flush=True)
    results["scheduler"] = measure_scheduler(now)
    print(f"[{args.only}] {len(ids):,} digests in {WORKERS} processes ...", flush=True)
    results["render"] = measure_rendering(ids, now, args.nice)
    print(f"[{args.only}] tracemalloc over 2,000 digests ...", flush=True)
    results["tracemalloc_peak_kb"] = measure_tracemalloc(ids, now, args.nice)
    print(f"[{args.only}] full delivery path on {args.sample:,} ...", flush=True)
    results["delivery_path"] = measure_delivery_path(ids, now, args.sample)
    out = args.dir / f"digest-{args.only}-{args.rows}-{len(ids)}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    r = results["render"]
    print(json.dumps(results, indent=2, default=str))
    print(
        f"[{args.only}] {r['residents']:,} residents in {r['wall_s']} s ({r['residents_per_s']}/s), "
        f"{r['digests_with_news']:,} with news, RSS per process {r['rss_mb_per_process']} MB; figures in {out}"
    )
    print(
        f"[{args.only}] CPU per digest {r['cpu_ms_per_digest']} ms (ours {r['python_cpu_ms_per_digest']}, "
        f"database {r['db_cpu_ms_per_digest']}): on 2 idle cores {r['projected_per_s_on_2_idle_cores']}/s, "
        f"100,000 in {r['projected_100k_s']} s; load average {results['machine']['load_avg'][0]:.1f}"
    )
    met = r["wall_s"] * DEFAULT_RESIDENTS / max(1, r["residents"]) <= GOAL_SECONDS
    print(f"[{args.only}] goal (100,000 in under {GOAL_SECONDS} s, wall clock): {'met' if met else 'missed'}")
    return 0 if met or len(ids) < DEFAULT_RESIDENTS else 1


def _machine(connection) -> dict:
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_avg": os.getloadavg()}
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            info["postgresql"] = cur.fetchone()[0]
    return info


if __name__ == "__main__":
    raise SystemExit(main())
