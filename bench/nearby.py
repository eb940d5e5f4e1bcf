#!/usr/bin/env python3
"""Benchmark of the nearby engine: a synthetic city of located stalls, random queries through the
real selector (`apps.nearby.selectors.located_nearest`, through the ORM) beside brute-force scans.

    .venv/bin/python bench/nearby.py                 # SQLite, plus PostgreSQL when DATABASE_URL is set
    .venv/bin/python bench/nearby.py --rebuild       # regenerate the cached city
    .venv/bin/python bench/nearby.py --rows 100000 --queries 50

The city lives in its own databases, never the development data: a SQLite file under var/bench/
and, when DATABASE_URL is set, the PostgreSQL database `jiefang_bench` on that server (the name in
DATABASE_URL is ignored; a city of another size than 1M goes in `jiefang_bench_<rows>`). Both are
kept between runs and rebuilt only when missing, built with other parameters or for another schema,
or when --rebuild is given. BENCH_DB_SUFFIX=<name> puts the PostgreSQL city in `jiefang_bench_<name>`
instead (bench/feed.py follows it too), for a branch whose schema differs from the shared city's.
bench/README.md and docs/benchmarks.md explain the figures.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import json
import math
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Bump when the generated data changes shape, so cached databases are rebuilt.
# 4: the shops are rows (with pledges), their stalls point at them, recent stalls have photos.
DATA_VERSION = 4

# People's Square, Shanghai; the city is a square of CITY_SIDE_M around it.
CENTRE = (31.2304, 121.4737)
CITY_SIDE_M = 30_000
# Query origins stay in the middle, so that a 5 km circle lies inside the city.
ORIGIN_SIDE_M = 20_000
DEFAULT_ROWS = 1_000_000
RADII_M = (200, 1000, 5000)
ANSWER_LIMIT = 50
# one shop and one selling resident per 50 stalls (20,000 of each in the full city)
STALLS_PER_SELLER = 50
# Stalls were posted over the last HISTORY_DAYS; most have expired since (see `_stall_times`).
HISTORY_DAYS = 120

GOALS_P95_MS = {1000: 10.0, 5000: 40.0}
GOAL_SCAN_RATIO = 50.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="stalls in the city (default 1,000,000)")
    p.add_argument("--queries", type=int, default=200, help="timed selector queries per radius (default 200)")
    p.add_argument(
        "--scan-queries",
        type=int,
        default=None,
        help="timed brute-force scans per radius (default: a tenth of --queries, at least 5): each reads every row",
    )
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--rebuild", action="store_true", help="regenerate the city even if a cached one exists")
    p.add_argument("--dir", type=Path, default=ROOT / "var" / "bench", help="where the SQLite city and results go")
    p.add_argument("--only", choices=("sqlite", "postgresql"), help="run on one database only")
    p.add_argument("--no-postgis", action="store_true", help="skip the PostGIS comparison")
    p.add_argument(
        "--nice",
        type=int,
        default=None,
        help="run this process and its PostgreSQL backend at this niceness, and with a negative one (as "
        "root) in a cgroup with a large CPU share: shields the timings from other work on a shared machine",
    )
    args = p.parse_args(argv)
    if args.scan_queries is None:
        args.scan_queries = max(5, args.queries // 10)
    return args


# --- Django set-up ----------------------------------------------------------------------------


def bench_postgres_url(rows: int) -> str | None:
    """The server of DATABASE_URL, with the database name replaced by `jiefang_bench` (and the row
    count for a city of another size, so a small trial run keeps the big city cached)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return None
    parts = urlsplit(url)
    name = "jiefang_bench" if rows == DEFAULT_ROWS else f"jiefang_bench_{rows}"
    # Several branches may benchmark on one server: BENCH_DB_SUFFIX=x keeps a city of their own
    # (`jiefang_bench_x`), so a branch with other indexes never rebuilds the one another is timing.
    if suffix := os.environ.get("BENCH_DB_SUFFIX", ""):
        name = f"{name}_{suffix}"
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def project_db_config(url: str) -> dict:
    """Django's settings for a database URL, with the engine and the PostgreSQL options the project's
    settings choose for it (`apps.core.postgresql`, prepared statements), so that a benchmark
    measures the database layer that runs."""
    import environ
    from django.conf import settings

    config = environ.Env.db_url_config(url)
    config["ENGINE"] = settings.JIEFANG_DATABASE_ENGINES.get(config["ENGINE"], config["ENGINE"])
    if config["ENGINE"] == "apps.core.postgresql":
        config.setdefault("OPTIONS", {}).update(settings.JIEFANG_POSTGRESQL_OPTIONS)
    return config


def setup_django(args) -> list[str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neighborhood.settings")
    import django
    import environ
    from django.conf import settings

    args.dir.mkdir(parents=True, exist_ok=True)
    default = {
        **environ.Env.db_url_config(f"sqlite:///{args.dir / f'nearby-{args.rows}.sqlite3'}"),
        # the project's own SQLite options (WAL, busy timeout): the benchmark measures what runs
        "OPTIONS": dict(settings.DATABASES["default"].get("OPTIONS", {}))
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
        else {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        },
    }
    databases = {"default": default}
    aliases = ["default"] if args.only != "postgresql" else []
    pg_url = bench_postgres_url(args.rows)
    if args.only == "postgresql" and not pg_url:
        sys.exit("--only postgresql needs DATABASE_URL=postgres://... (the database name is replaced by jiefang_bench)")
    if pg_url and args.only != "sqlite":
        databases["pg"] = project_db_config(pg_url)
        aliases.append("pg")
    settings.DATABASES = databases
    # DEBUG keeps every query in memory and costs time per query; production runs without it.
    settings.DEBUG = False
    django.setup()
    return aliases


# --- The synthetic city -----------------------------------------------------------------------


def offset_point(dx_m: float, dy_m: float) -> tuple[float, float]:
    lat = CENTRE[0] + math.degrees(dy_m / 6_371_008.8)
    lng = CENTRE[1] + math.degrees(dx_m / (6_371_008.8 * math.cos(math.radians(CENTRE[0]))))
    return lat, lng


def random_city_point(rng: random.Random, side_m: float = CITY_SIDE_M) -> tuple[float, float]:
    half = side_m / 2
    return offset_point(rng.uniform(-half, half), rng.uniform(-half, half))


def _stall_times(rng: random.Random, now: datetime, from_shop: bool):
    """Posted at some time in the last HISTORY_DAYS, for a shop's usual day (or a week), a
    resident's usual week (or a month). Most stalls have expired; the periodic task has marked
    most of those, a few are still `open` past their expiry (the query's `expires_at` test
    matters), and some live ones are reserved, closed or hidden."""
    created = now - timedelta(seconds=rng.uniform(60, HISTORY_DAYS * 86400))
    if from_shop:
        duration = timedelta(days=1) if rng.random() < 0.7 else timedelta(days=7)
    else:
        duration = timedelta(days=7) if rng.random() < 0.7 else timedelta(days=30)
    expires = created + duration
    u = rng.random()
    if expires <= now:
        status = "expired" if u < 0.88 else "closed" if u < 0.98 else "open"
    else:
        status = "open" if u < 0.85 else "reserved" if u < 0.92 else "closed" if u < 0.97 else "hidden"
    updated = min(now, created + timedelta(seconds=rng.uniform(0, duration.total_seconds())))
    return created, updated, expires, status


KINDS = ("sale", "free", "wanted", "service", "event")
CATEGORIES = (
    "groceries",
    "fruit_veg",
    "bakery",
    "restaurant",
    "repairs",
    "hair_beauty",
    "pharmacy",
    "second_hand",
    "services",
    "other",
)


def stall_row(rng, i: int, lat: float, lng: float, *, from_shop: bool, seller: int, shop_id, now) -> dict:
    """One synthetic stall's columns (also bench/digest.py's); draws its times, kind, category and
    price from `rng` in that order, so a city built from one seed is the same every time."""
    from h3.api import basic_int as h3i

    from apps.nearby import geo

    r11 = h3i.latlng_to_cell(lat, lng, 11)
    created, updated, expires, status = _stall_times(rng, now, from_shop)
    kind = KINDS[rng.randrange(len(KINDS))]
    return {
        "lat": lat,
        "lng": lng,
        geo.cell_field(11): r11,
        geo.cell_field(10): h3i.cell_to_parent(r11, 10),
        geo.cell_field(9): h3i.cell_to_parent(r11, 9),
        geo.cell_field(8): h3i.cell_to_parent(r11, 8),
        "kind": kind,
        "category": CATEGORIES[rng.randrange(len(CATEGORIES))],
        "title": f"Stall {i}",
        "description": "",
        "price": None if kind == "free" else f"{rng.randrange(100, 50000) / 100:.2f}",
        "currency": "CNY",
        "quantity": 1,
        "starts_at": None,
        "expires_at": expires,
        "status": status,
        "location_is_exact": from_shop,
        "created_at": created,
        "updated_at": updated,
        "fresh_days": created.timestamp() / 86400.0,
        "seller_id": seller,
        "shop_id": shop_id,
    }


def shop_points(seed: int, count: int) -> list[tuple[float, float]]:
    """The shops' exact points: the first draws of the city's random sequence, as `generate_stalls`
    makes them."""
    rng = random.Random(seed)
    return [random_city_point(rng) for _ in range(count)]


def generate_stalls(rows: int, seed: int, now: datetime, seller_ids: list[int], shop_rows=None):
    """Yields one dict per stall. Shops' stalls (40 %) sit at one of the shops' exact points;
    residents' stalls (60 %) at the centre of the seller's home cell, as the real service stores them.
    With `shop_rows` ((id, owner id) of each shop point, in order), a shop's stall is the shop's,
    posted by its owner; the random draws are the same either way."""
    from h3.api import basic_int as h3i

    rng = random.Random(seed)
    shops = [random_city_point(rng) for _ in range(len(seller_ids))]
    homes = {}
    home_res = 9
    for sid in seller_ids:
        lat, lng = random_city_point(rng)
        c = h3i.cell_to_latlng(h3i.latlng_to_cell(lat, lng, home_res))
        homes[sid] = c
    for i in range(rows):
        from_shop = rng.random() < 0.4
        seller = seller_ids[rng.randrange(len(seller_ids))]
        shop_id = None
        if from_shop:
            k = rng.randrange(len(shops))
            lat, lng = shops[k]
            if shop_rows is not None:
                shop_id, seller = shop_rows[k]
        else:
            lat, lng = homes[seller]
        yield stall_row(rng, i, lat, lng, from_shop=from_shop, seller=seller, shop_id=shop_id, now=now)


def _stall_columns() -> dict:
    """Column -> value for a stall the generator says nothing about (a field added since)."""
    from apps.market.models import Stall

    return {f.column: f.get_default() for f in Stall._meta.concrete_fields if not f.primary_key}


def _schema() -> list[str]:
    """What the cached city was built for: the columns and indexes of the stall table (an index's
    definition, not only its name: a city whose index lost or gained a column is rebuilt)."""
    from apps.market.models import Stall

    indexes = (f"{i.name}({','.join(i.fields)}) include({','.join(i.include)})" for i in Stall._meta.indexes)
    return sorted(_stall_columns()) + sorted(indexes)


def _meta_wanted(args, now: datetime) -> dict:
    return {"rows": args.rows, "seed": args.seed, "version": DATA_VERSION, "now": now.isoformat(), "schema": _schema()}


def read_meta(alias: str) -> dict | None:
    from django.db import connections

    try:
        with connections[alias].cursor() as cur:
            cur.execute("SELECT value FROM bench_meta WHERE key = 'meta'")
            row = cur.fetchone()
    except Exception:  # noqa: BLE001 (no table yet: the city was never built, or half built)
        return None
    return json.loads(row[0]) if row else None


def city_is_current(alias: str, args) -> dict | None:
    meta = read_meta(alias)
    wanted = {"rows": args.rows, "seed": args.seed, "version": DATA_VERSION, "schema": _schema()}
    if meta and all(meta.get(k) == v for k, v in wanted.items()):
        return meta
    return None


def reset_database(alias: str, args) -> None:
    from django.db import connections

    conn = connections[alias]
    conn.close()
    if conn.vendor == "sqlite":
        path = Path(conn.settings_dict["NAME"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    params = conn.settings_dict
    admin = psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{params["NAME"]}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{params["NAME"]}"')


CPU_CGROUP = Path("/sys/fs/cgroup/cpu")


def renice(alias: str, niceness: int | None) -> None:
    """Gives this process and, on PostgreSQL, the backend serving its connection a larger share of
    the CPU than other work on the machine: the niceness; with autogroup scheduling (the Linux
    default) the session's niceness too, since a niceness only counts inside a session; and where a
    cgroup-v1 cpu controller is writable (as root), a cgroup of their own with the largest share,
    which is what reaches the backend, a process of the database server's session. Both processes
    go back to where they were at exit."""
    from django.db import connections

    if niceness is None:
        return
    pids = [os.getpid()]
    conn = connections[alias]
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pids.append(cur.fetchone()[0])
    for pid in pids:
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    if conn.vendor == "postgresql":
        # Parallel workers would be new processes outside the shield: every query runs in the one
        # backend instead (a parallel scan on two idle cores takes about half as long).
        with conn.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
    autogroup = Path("/proc/self/autogroup")
    if autogroup.exists():
        autogroup.write_text(str(niceness))
    if niceness < 0 and os.access(CPU_CGROUP, os.W_OK):
        group = CPU_CGROUP / "jiefang-bench"
        group.mkdir(exist_ok=True)
        (group / "cpu.shares").write_text(str(min(262144, 1024 * 2 ** (-niceness // 2))))
        for pid in pids:
            (group / "cgroup.procs").write_text(str(pid))

        def leave(pids=pids, group=group):
            for pid in pids:
                with contextlib.suppress(OSError):
                    (CPU_CGROUP / "cgroup.procs").write_text(str(pid))
            with contextlib.suppress(OSError):
                group.rmdir()

        atexit.register(leave)


def ensure_database_exists(alias: str) -> None:
    """A first run against a server that has no `jiefang_bench` yet creates it."""
    from django.db import connections

    conn = connections[alias]
    if conn.vendor == "sqlite":
        return
    try:
        conn.ensure_connection()
    except Exception:  # noqa: BLE001 (psycopg raises OperationalError for a missing database)
        conn.close()
        reset_database(alias, None)


def migrate(alias: str) -> None:
    """Migrates the city's database in a process of its own where it is the default database: data
    migrations written for one database (without `.using(schema_editor.connection.alias)`) would
    otherwise read the other alias of this process."""
    from django.db import connections

    params = connections[alias].settings_dict
    if connections[alias].vendor == "sqlite":
        url = f"sqlite:///{params['NAME']}"
    else:
        user = quote(params["USER"] or "", safe="")
        password = f":{quote(params['PASSWORD'], safe='')}" if params["PASSWORD"] else ""
        port = f":{params['PORT']}" if params["PORT"] else ""
        url = f"postgres://{user}{password}@{params['HOST'] or ''}{port}/{params['NAME']}"
    connections[alias].close()
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def build_city(alias: str, args, postgis: bool) -> dict:
    from django.db import connections

    from apps.accounts.models import Resident

    t0 = time.perf_counter()
    reset_database(alias, args)
    conn = connections[alias]
    migrate(alias)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    sellers = Resident.objects.using(alias).bulk_create(
        [
            Resident(username=f"seller{i}", email=f"seller{i}@bench.invalid", display_name=f"Seller {i}", password="!")
            for i in range(max(10, args.rows // STALLS_PER_SELLER))
        ],
        batch_size=2000,
    )
    seller_ids = [s.pk for s in sellers]
    if not all(seller_ids):
        seller_ids = list(Resident.objects.using(alias).values_list("pk", flat=True))
    shop_rows = _create_shops(alias, args.seed, seller_ids)
    columns = _stall_columns()
    stalls = generate_stalls(args.rows, args.seed, now, seller_ids, shop_rows)
    print(f"  [{alias}] generating and loading {args.rows:,} stalls ...", flush=True)
    if conn.vendor == "sqlite":
        _load_sqlite(conn, columns, stalls)
    else:
        _load_postgresql(conn, columns, stalls, postgis)
    _add_photos(alias, args.seed, now)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE bench_meta (key varchar(20) PRIMARY KEY, value text)")
        cur.execute("INSERT INTO bench_meta VALUES ('meta', %s)", [json.dumps(_meta_wanted(args, now))])
    print(f"  [{alias}] city built in {time.perf_counter() - t0:.0f} s", flush=True)
    return _meta_wanted(args, now)


def _create_shops(alias: str, seed: int, seller_ids: list[int]) -> list[tuple[int, int]]:
    """One shop at each of the city's shop points, owned by a seller, half of them with one or two
    pledges from the catalogue (what a stall's card shows): (id, owner id) per point, in order."""
    from apps.nearby import geo
    from apps.shops import pledges as catalogue
    from apps.shops.models import Shop, ShopPledge

    rng = random.Random(seed + 1)
    shops = []
    for k, (lat, lng) in enumerate(shop_points(seed, len(seller_ids))):
        shop = Shop(owner_id=seller_ids[k], name=f"Shop {k}", category=CATEGORIES[k % len(CATEGORIES)])
        shop.place_at(geo.Point(lat, lng))
        shops.append(shop)
    Shop.objects.using(alias).bulk_create(shops, batch_size=5000)
    rows = list(Shop.objects.using(alias).order_by("pk").values_list("pk", "owner_id"))
    kinds = list(catalogue.CATALOGUE)
    ShopPledge.objects.using(alias).bulk_create(
        [
            ShopPledge(shop_id=pk, kind=kind, terms=catalogue.kind_get(kind).default_terms())
            for pk, _owner in rows
            for kind in rng.sample(kinds, rng.choice((0, 0, 1, 2)))
        ],
        batch_size=5000,
    )
    return rows


def _add_photos(alias: str, seed: int, now: datetime) -> None:
    """A photo row on 60 % of the stalls posted in the last 8 days (the files are not written: the
    feed reads rows and builds URLs)."""
    from apps.market.models import Stall, StallPhoto

    rng = random.Random(seed + 2)
    recent = Stall.objects.using(alias).filter(created_at__gte=now - timedelta(days=8)).order_by("pk")
    photos = [
        StallPhoto(stall_id=pk, image=f"stalls/bench-{pk % 97}.jpg")
        for pk in recent.values_list("pk", flat=True)
        if rng.random() < 0.6
    ]
    StallPhoto.objects.using(alias).bulk_create(photos, batch_size=5000)


def _load_sqlite(conn, defaults: dict, stalls) -> None:
    """One transaction of executemany with the indexes dropped, then the indexes built in one pass
    each: several times faster than inserting into five B-trees row by row."""
    conn.ensure_connection()
    raw: sqlite3.Connection = conn.connection
    raw.execute("PRAGMA cache_size = -500000")
    indexes = raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'market_stall' AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    columns = list(defaults)
    sql = f"INSERT INTO market_stall ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

    def as_row(s):
        # Django keeps aware datetimes in SQLite as naive UTC text, str(datetime) with a space.
        values = (s.get(c, defaults[c]) for c in columns)
        return tuple(str(v.replace(tzinfo=None)) if isinstance(v, datetime) else v for v in values)

    raw.execute("BEGIN")
    raw.executemany(sql, (as_row(s) for s in stalls))
    raw.execute("COMMIT")
    t = time.perf_counter()
    for _name, index_sql in indexes:
        raw.execute(index_sql)
    raw.execute("ANALYZE")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"    indexes and ANALYZE: {time.perf_counter() - t:.0f} s", flush=True)


def _load_postgresql(conn, defaults: dict, stalls, postgis: bool) -> None:
    """COPY with the indexes dropped and the foreign-key triggers off (the sellers exist), then the
    indexes built once, then VACUUM ANALYZE so index-only plans see an all-visible table."""
    conn.ensure_connection()
    raw = conn.connection
    raw.autocommit = True
    with raw.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'market_stall' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cur.fetchall()
        for name, _def in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        columns = list(defaults)
        copy_columns = list(columns)
        if postgis:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            cur.execute("ALTER TABLE market_stall ADD COLUMN geog geography(Point, 4326)")
            copy_columns.append("geog")
        cur.execute("SET session_replication_role = replica")
        with cur.copy(f"COPY market_stall ({', '.join(copy_columns)}) FROM STDIN") as copy:
            buf = io.StringIO()
            for n, s in enumerate(stalls, 1):
                values = [s.get(c, defaults[c]) for c in columns]
                if postgis:
                    values.append(f"SRID=4326;POINT({s['lng']!r} {s['lat']!r})")
                buf.write("\t".join(_copy_text(v) for v in values))
                buf.write("\n")
                if n % 20000 == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        cur.execute("SET session_replication_role = DEFAULT")
        t = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '512MB'")
        for _name, indexdef in indexes:
            cur.execute(indexdef)
        cur.execute("VACUUM ANALYZE market_stall")
        print(f"    indexes and VACUUM ANALYZE: {time.perf_counter() - t:.0f} s", flush=True)


def _copy_text(v) -> str:
    if v is None:
        return r"\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


def postgis_available(alias: str) -> bool:
    from django.db import connections

    with connections[alias].cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        return cur.fetchone() is not None


POSTGIS_INDEXES = {
    # the usual spatial index
    "bench_stall_geog_gist": "CREATE INDEX {name} ON market_stall USING gist (geog)",
    # what a careful DBA adds for this query: only open stalls in the tree
    "bench_stall_geog_open_gist": "CREATE INDEX {name} ON market_stall USING gist (geog) WHERE status = 'open'",
}


def ensure_postgis_indexes(alias: str) -> None:
    from django.db import connections

    with connections[alias].cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'market_stall'")
        present = {row[0] for row in cur.fetchall()}
        missing = [name for name in POSTGIS_INDEXES if name not in present]
        for name in missing:
            cur.execute(POSTGIS_INDEXES[name].format(name=name))
        if missing:
            cur.execute("ANALYZE market_stall")


def has_postgis_column(alias: str) -> bool:
    from django.db import connections

    with connections[alias].cursor() as cur:
        cur.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'market_stall' AND column_name = 'geog'"
        )
        return cur.fetchone() is not None


# --- The queries ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class RadiusResult:
    radius_m: int
    ms: dict[str, list[float]] = field(default_factory=dict)  # wall-clock timings by query kind
    # on-CPU time of the same queries: this thread plus the PostgreSQL backend; unlike the wall
    # clock it does not grow when other work shares the cores
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    cells: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    area_ratio: float = 0.0  # mean area of the cover over the circle's
    counted: int = 0  # queries whose rows read and rows in the circle were counted
    in_cover: int = 0
    in_circle: int = 0
    mismatches: int = 0
    # PostGIS measures on its own sphere: a row within a micrometre of the rim may fall either way
    postgis_mismatches: int = 0

    def pp(self, kind: str, cpu: bool = False) -> dict | None:
        xs = (self.cpu_ms if cpu else self.ms).get(kind)
        return {"p50": round(percentile(xs, 0.5), 2), "p95": round(percentile(xs, 0.95), 2)} if xs else None

    def summary(self) -> dict:
        out = {
            "radius_m": self.radius_m,
            "queries": len(self.ms["selector"]),
            "scans": len(self.ms.get("scan", [])),
            "cover_cells_mean": round(statistics.mean(self.cells), 1),
            "cover_area_over_circle": round(self.area_ratio, 3),
            "returned_mean": round(statistics.mean(self.returned), 1),
            "in_circle_mean": round(self.in_circle / max(1, self.counted), 1),
            "rows_read_per_answer_row": round(self.in_cover / self.in_circle, 3) if self.in_circle else None,
            "mismatches": self.mismatches,
            "postgis_mismatches": self.postgis_mismatches,
        }
        for kind in QUERY_KINDS:
            out[f"{kind}_ms"] = self.pp(kind)
            out[f"{kind}_cpu_ms"] = self.pp(kind, cpu=True)
        for scan in ("scan", "brute"):
            for q in ("p50", "p95"):
                if out[f"{scan}_ms"]:
                    out[f"{scan}_over_selector_{q}"] = round(out[f"{scan}_ms"][q] / out["selector_ms"][q], 1)
                if out[f"{scan}_cpu_ms"]:
                    cpu = out[f"{scan}_cpu_ms"][q] / out["selector_cpu_ms"][q]
                    out[f"{scan}_over_selector_cpu_{q}"] = round(cpu, 1)
        return out


# What is timed, in the order it is printed:
#   cover     apps.nearby.geo.cover_circle alone (Python), part of the selector's time
#   selector  the real selector through the ORM, `located_nearest` (what `nearby_page` serves):
#             open, unexpired stalls, nearest 50 with distance
#   postgis   the same answer from ST_DWithin on a geography column with a GiST index (PostgreSQL
#             with PostGIS only; distances on the sphere, like the haversine), through the ORM as
#             the selector is: the goals are "through the ORM". The project has no GeoDjango,
#             so ST_DWithin and ST_Distance go in as `RawSQL` expressions, which compile faster than
#             GeoDjango's lookups would: the comparison leans toward PostGIS.
#   postgis_raw  the same SQL through `Manager.raw` (model instances too, no query building)
#   postgis_open, postgis_open_raw  the same two, with a partial GiST index of open stalls only
#   no_cells  the same ORM query without the cell filter, as the database's planner runs it
#   scan      the same ORM query with every index refused: a full scan, which tests the cheap
#             freshness columns first and computes the distance of the rows that pass only
#   brute     the scan of issue 2's prototype: every index refused, the distance of every row
#             computed, then the freshness test (the "at least 50 times faster" is against it)
QUERY_KINDS = (
    "cover",
    "selector",
    "postgis",
    "postgis_raw",
    "postgis_open",
    "postgis_open_raw",
    "no_cells",
    "scan",
    "brute",
)

# Origins per turn when the selector and PostGIS take turns.
POSTGIS_BLOCK = 20
POSTGIS_DISTANCE = "ST_Distance(geog, ST_MakePoint(%s, %s)::geography, false)"
POSTGIS_WITHIN = "ST_DWithin(geog, ST_MakePoint(%s, %s)::geography, %s, false)"
POSTGIS_SQL = """
SELECT {columns}, ST_Distance(geog, ST_MakePoint(%s, %s)::geography, false) AS distance_m
FROM market_stall
WHERE ST_DWithin(geog, ST_MakePoint(%s, %s)::geography, %s, false)
  AND status = 'open' AND expires_at > %s
ORDER BY distance_m, id
LIMIT {limit}
"""


def _backend_cpu_reader(conn):
    """On-CPU nanoseconds of the PostgreSQL backend serving this connection so far (0 on SQLite,
    where the query runs in this thread). The backend is asleep between queries, so its
    /proc/<pid>/schedstat total is settled when read."""
    if conn.vendor != "postgresql":
        return lambda: 0
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        path = Path(f"/proc/{cur.fetchone()[0]}/schedstat")
    if not path.exists():  # a server on another machine
        return lambda: 0
    return lambda: int(path.read_text().split()[0])


def parallel_workers(alias: str) -> int | None:
    from django.db import connections

    conn = connections[alias]
    if conn.vendor != "postgresql":
        return None
    with conn.cursor() as cur:
        cur.execute("SHOW max_parallel_workers_per_gather")
        return int(cur.fetchone()[0])


def run_queries(alias: str, args, now: datetime, with_postgis: bool) -> list[RadiusResult]:
    from django.db import connections, transaction
    from django.db.models import BooleanField, Case, FloatField, Q, Value, When
    from django.db.models.expressions import RawSQL
    from h3.api import basic_int as h3i

    from apps.market.models import Stall
    from apps.nearby import geo
    from apps.nearby.selectors import great_circle_m, located_in_cover, located_nearest, located_within

    conn = connections[alias]
    rng = random.Random(args.seed + 1)

    def fresh():
        return Stall.objects.using(alias).filter(status=Stall.Status.OPEN, expires_at__gt=now)

    def selector(origin, radius):
        return list(located_nearest(fresh(), origin=origin, radius_m=radius, limit=ANSWER_LIMIT))

    def no_cells_qs(origin, radius):
        return (
            fresh()
            .annotate(distance_m=great_circle_m(origin))
            .filter(distance_m__lte=radius)
            .order_by("distance_m", "pk")[:ANSWER_LIMIT]
        )

    def no_cells(origin, radius):
        return list(no_cells_qs(origin, radius))

    def without_indexes(qs):
        if conn.vendor == "sqlite":
            sql, params = qs.query.get_compiler(using=alias).as_sql()
            sql = sql.replace('FROM "market_stall"', 'FROM "market_stall" NOT INDEXED', 1)
            return list(Stall.objects.using(alias).raw(sql, params))
        with transaction.atomic(using=alias), conn.cursor() as cur:
            for kind in ("indexscan", "indexonlyscan", "bitmapscan"):
                cur.execute(f"SET LOCAL enable_{kind} = off")
            return list(qs)

    def scan(origin, radius):
        return without_indexes(no_cells_qs(origin, radius))

    def brute(origin, radius):
        # The prototype's scan of issue 2: the great-circle distance of every row, then the filter.
        # The CASE fixes that order; given the plain AND, both databases test the cheap freshness
        # columns first and compute the distance of the 8 % of rows that pass (`scan`).
        fresh_in_circle = Case(
            When(distance_m__lte=radius, then=Q(status=Stall.Status.OPEN, expires_at__gt=now)),
            default=Value(False),
            output_field=BooleanField(),
        )
        qs = (
            Stall.objects.using(alias)
            .annotate(distance_m=great_circle_m(origin))
            .alias(fresh_in_circle=fresh_in_circle)
            .filter(fresh_in_circle=True)
            .order_by("distance_m", "pk")[:ANSWER_LIMIT]
        )
        return without_indexes(qs)

    postgis_sql = POSTGIS_SQL.format(
        columns=", ".join(f'"{f.column}"' for f in Stall._meta.concrete_fields), limit=ANSWER_LIMIT
    )

    def postgis_raw(origin, radius):
        # model instances with distance_m, like the selector's answer
        params = [origin.lng, origin.lat, origin.lng, origin.lat, radius, now]
        return list(Stall.objects.using(alias).raw(postgis_sql, params))

    def postgis(origin, radius):
        point = (origin.lng, origin.lat)
        return list(
            fresh()
            .annotate(distance_m=RawSQL(POSTGIS_DISTANCE, point, output_field=FloatField()))
            .filter(RawSQL(POSTGIS_WITHIN, (*point, radius), output_field=BooleanField()))
            .order_by("distance_m", "pk")[:ANSWER_LIMIT]
        )

    backend_cpu = _backend_cpu_reader(conn)
    # parallel workers' CPU cannot be counted: without them, every query's CPU is
    single_process = parallel_workers(alias) in (None, 0)

    def timed(res, kind, fn, origins, radius):
        out = []
        for o in origins:
            cpu = time.thread_time_ns() + backend_cpu()
            t = time.perf_counter()
            rows = fn(o, radius)
            wall = time.perf_counter() - t
            cpu = time.thread_time_ns() + backend_cpu() - cpu
            res.ms.setdefault(kind, []).append(wall * 1000)
            if single_process or kind in ("cover", "selector"):
                res.cpu_ms.setdefault(kind, []).append(cpu / 1e6)
            out.append(rows)
        return out

    def cover(o, radius):
        return geo.cover_circle(o, radius)

    results = []
    for radius in RADII_M:
        res = RadiusResult(radius)
        origins = [geo.Point(*random_city_point(rng, ORIGIN_SIDE_M)) for _ in range(args.queries)]
        scanned = origins[: args.scan_queries]
        # warm the caches the way a running server has them warm (origins not used below)
        for _ in range(10):
            selector(geo.Point(*random_city_point(rng, ORIGIN_SIDE_M)), radius)
        # covers are cached by origin; every timed query below starts without its cover cached
        geo.cover_circle.cache_clear()
        covers = timed(res, "cover", cover, origins, radius)
        res.cells = [len(c.cells) for c in covers]
        circle = math.pi * radius * radius
        res.area_ratio = statistics.mean(sum(h3i.cell_area(c, "m^2") for c in cv.cells) / circle for cv in covers)
        geo.cover_circle.cache_clear()
        # With PostGIS, the selector and the PostGIS queries take turns in blocks of origins, so that a
        # change in the machine's speed during the run (other work, a virtual CPU's varying clock)
        # weighs on both alike; without it, one block.
        block = POSTGIS_BLOCK if with_postgis else len(origins)
        answers = []
        for start in range(0, len(origins), block):
            some = origins[start : start + block]
            got_selector = timed(res, "selector", selector, some, radius)
            answers += got_selector
            if with_postgis:
                # Each PostGIS variant runs with its own spatial index as the only index on the table
                # (the others dropped inside a transaction that is rolled back): with the cell indexes
                # present the planner ANDs the GiST bitmap with a full scan of a cell index for the
                # status test, which is slower still and not what a PostGIS design would have.
                for kind, keep in (
                    ("postgis", "bench_stall_geog_gist"),
                    ("postgis_open", "bench_stall_geog_open_gist"),
                ):
                    with transaction.atomic(using=alias):
                        with conn.cursor() as cur:
                            for name in [*POSTGIS_INDEXES, *(i.name for i in Stall._meta.indexes)]:
                                if name != keep:
                                    cur.execute(f'DROP INDEX IF EXISTS "{name}"')
                        for _ in range(3):  # untimed: the table's changed catalogue is read once
                            postgis(geo.Point(*random_city_point(rng, ORIGIN_SIDE_M)), radius)
                        # the ORM form and the raw form in turn, on the same origins
                        for fn, name in ((postgis, kind), (postgis_raw, f"{kind}_raw")):
                            got = timed(res, name, fn, some, radius)
                            res.postgis_mismatches += sum(
                                [r.pk for r in a] != [r.pk for r in b] for a, b in zip(got, got_selector, strict=True)
                            )
                        transaction.set_rollback(True, using=alias)
                # the selector's warm-up after its indexes came back
                for _ in range(3):
                    selector(geo.Point(*random_city_point(rng, ORIGIN_SIDE_M)), radius)
                geo.cover_circle.cache_clear()
        res.returned = [len(rows) for rows in answers]
        for kind, fn in (("no_cells", no_cells), ("scan", scan), ("brute", brute)):
            got = timed(res, kind, fn, scanned, radius)
            # the scans are the oracle: same rows, same order
            res.mismatches += sum([r.pk for r in a] != [r.pk for r in b] for a, b in zip(got, answers, strict=False))
        # rows the index hands over before the exact distance test, against the rows in the circle
        for o in origins[: max(args.scan_queries, min(50, args.queries))]:
            res.in_cover += located_in_cover(fresh(), origin=o, radius_m=radius).count()
            res.in_circle += located_within(fresh(), origin=o, radius_m=radius).count()
            res.counted += 1
        results.append(res)
        print(_line(alias, res.summary()), flush=True)
    return results


def _line(alias: str, s: dict) -> str:
    def f(kind, suffix):
        v = s.get(f"{kind}_{suffix}")
        return f"{kind} {v['p50']:.2f} / {v['p95']:.2f}" if v else ""

    parts = [f"[{alias}] {s['radius_m']:>4} m", f"cells {s['cover_cells_mean']:.0f}"]
    parts.append(f"cover/circle {s['cover_area_over_circle']:.2f}")
    parts += [f"in circle {s['in_circle_mean']:.0f}", f"read/answer {s['rows_read_per_answer_row'] or 0:.2f}"]
    lines = []
    for suffix, label in (("ms", "wall"), ("cpu_ms", "cpu")):
        timings = [f(kind, suffix) for kind in QUERY_KINDS if s.get(f"{kind}_{suffix}")]
        ratio_text = []
        for scan in ("scan", "brute"):
            key = f"{scan}_over_selector_{'' if suffix == 'ms' else 'cpu_'}"
            if s.get(f"{key}p50"):
                ratio_text.append(f"{scan}/selector x{s[f'{key}p50']:.0f} / x{s[f'{key}p95']:.0f}")
        lines.append(f"      {label}: " + " | ".join([*timings, *ratio_text]))
    return "  " + " | ".join(parts) + "\n" + "\n".join(lines)


def explain(alias: str, now: datetime) -> str:
    from apps.market.models import Stall
    from apps.nearby import geo
    from apps.nearby.selectors import located_nearest

    qs = located_nearest(
        Stall.objects.using(alias).filter(status=Stall.Status.OPEN, expires_at__gt=now),
        origin=geo.Point(*CENTRE),
        radius_m=1000,
        limit=ANSWER_LIMIT,
    )
    return qs.explain()


def python_probe_ms() -> dict:
    """How fast this machine runs plain Python right now: a fixed loop of a million additions, best
    and median of 7. On the shared virtual machines of this project such a loop's time varied by up
    to 1.7 times within a minute and by twice from one day to the next, so figures of different runs
    compare only beside this probe."""
    times = []
    for _ in range(7):
        t = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        times.append((time.perf_counter() - t) * 1000)
    return {"best": round(min(times), 1), "median": round(statistics.median(times), 1)}


def describe_machine(aliases) -> dict:
    from django.db import connections

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    info = {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "python_probe_ms": python_probe_ms(),
    }
    if "pg" in aliases:
        with connections["pg"].cursor() as cur:
            cur.execute("SHOW server_version")
            info["postgresql"] = cur.fetchone()[0]
            cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            row = cur.fetchone()
            info["postgis"] = row[0] if row else None
    return info


def main(argv=None) -> int:
    args = parse_args(argv)
    aliases = setup_django(args)
    from django.db import connections

    started = time.perf_counter()
    report = {
        "machine": None,
        "args": {"rows": args.rows, "queries": args.queries, "scans": args.scan_queries, "nice": args.nice},
    }
    failures = []
    for alias in aliases:
        vendor = connections[alias].vendor
        ensure_database_exists(alias)
        want_postgis = vendor == "postgresql" and not args.no_postgis and postgis_available(alias)
        meta = None if args.rebuild else city_is_current(alias, args)
        if meta and want_postgis and not has_postgis_column(alias):
            meta = None
        if meta is None:
            meta = build_city(alias, args, postgis=want_postgis)
        if want_postgis:
            ensure_postgis_indexes(alias)
        else:
            print(f"  [{alias}] cached city of {meta['rows']:,} stalls (built {meta['now']}; --rebuild to redo)")
        if vendor == "postgresql" and not args.no_postgis and not want_postgis:
            print(f"  [{alias}] PostGIS is not installed on this server: no ST_DWithin comparison")
        now = datetime.fromisoformat(meta["now"])
        renice(alias, args.nice)
        load_before = os.getloadavg()
        print(
            f"  [{alias}] {vendor}: mean cells in the cover, mean rows in the circle, rows read per row in the circle,"
            " then p50 / p95 ms of each kind of query (see QUERY_KINDS), wall clock and on-CPU"
        )
        results = run_queries(alias, args, now, with_postgis=want_postgis)
        summaries = []
        for r in results:
            s = r.summary()
            summaries.append(s)
            if r.mismatches:
                failures.append(f"{alias} {r.radius_m} m: {r.mismatches} answers differ from the scans")
            if r.postgis_mismatches:
                print(f"  [{alias}] {r.radius_m} m: {r.postgis_mismatches} PostGIS answers differ (rim rounding?)")
            goal = GOALS_P95_MS.get(r.radius_m)
            if goal and s["selector_ms"]["p95"] > goal:
                failures.append(f"{alias} {r.radius_m} m: p95 {s['selector_ms']['p95']} ms over the {goal} ms goal")
            # The goal is against the prototype's brute-force scan; the stronger freshness-first scan
            # is reported beside it (docs/benchmarks.md), not judged.
            if r.radius_m == 1000 and s.get("brute_over_selector_p95", math.inf) < GOAL_SCAN_RATIO:
                failures.append(f"{alias} 1 km: only {s['brute_over_selector_p95']}x faster than the brute-force scan")
            # On PostgreSQL with PostGIS: faster than ST_DWithin with its usual GiST index, the same
            # query through the ORM, at every radius (p50 and p95)
            for q in ("p50", "p95"):
                if s.get("postgis_ms") and s["postgis_ms"][q] <= s["selector_ms"][q]:
                    failures.append(
                        f"{alias} {r.radius_m} m: {q} {s['selector_ms'][q]} ms, not faster than ST_DWithin's"
                        f" {s['postgis_ms'][q]} ms"
                    )
            if r.radius_m == 1000 and s.get("scan_over_selector_p95", math.inf) < GOAL_SCAN_RATIO:
                print(f"  [{alias}] 1 km: {s['scan_over_selector_p95']}x faster than the freshness-first scan (p95)")
        report[vendor] = {
            "results": summaries,
            "explain_1km": explain(alias, now),
            "built": meta["now"],
            "load_average_before_after": [load_before, os.getloadavg()],
            "max_parallel_workers_per_gather": parallel_workers(alias),
        }
    report["machine"] = describe_machine(aliases)
    probe = report["machine"]["python_probe_ms"]
    print(f"  plain Python on this machine now: a million additions in {probe['best']} ms (median {probe['median']})")
    out = args.dir / f"nearby-{args.rows}.json"
    # a run on one database keeps the other's last figures
    previous = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps({**previous, **report}, indent=2))
    print(f"  results in {out} ({time.perf_counter() - started:.0f} s)")
    for line in failures:
        print(f"  GOAL MISSED: {line}")
    # A wrong answer is a failure whatever the size; speed goals are judged at full size only.
    wrong = [f for f in failures if "differ" in f]
    return 1 if wrong or (failures and args.rows >= DEFAULT_ROWS) else 0


if __name__ == "__main__":
    sys.exit(main())
