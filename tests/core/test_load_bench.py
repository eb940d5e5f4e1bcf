"""bench/load.py stays runnable: its plan, its figures and its workload's requests as the site takes
them; and, with PostgreSQL and Redis, one short step end to end on a tiny city (the real run is
`make bench`, its figures are in docs/benchmarks.md; nothing here is timed)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.market.api import FeedQuerySerializer

ROOT = Path(__file__).resolve().parents[2]


def _load_module():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


load = _load_module()


def _env_without_services():
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}


def test_steps_turn_offered_rates_into_residents():
    steps = load.plan_steps("10, 25,3", user_rate=0.5)
    assert [s["users"] for s in steps] == [20, 50, 6]
    assert [s["offered_per_s"] for s in steps] == [10.0, 25.0, 3.0]
    with pytest.raises(ValueError):
        load.plan_steps("10,0", user_rate=0.5)


def test_figures_of_a_step_and_the_highest_step_that_holds():
    records = [("GET /", float(ms), True) for ms in range(1, 101)] + [("POST /api/stalls/", 300.0, False)]
    step = load.summarize(records, seconds=10.0)
    assert step["requests"] == 101
    assert step["rps"] == pytest.approx(10.1)
    assert step["p50_ms"] == 51.0
    assert step["p99_ms"] == 100.0
    assert step["errors"] == 1
    assert step["by_name"]["POST /api/stalls/"] == {"requests": 1, "p50_ms": 300.0, "p95_ms": 300.0, "errors": 1}
    assert not load.holds(step)  # fast enough, but one error

    def made(offered, p95, errors):
        return {"offered_per_s": offered, "requests": 100, "p95_ms": p95, "errors": errors}

    steps = [made(10, 80, 0), made(20, 150, 0), made(30, 190, 2), made(40, 250, 0)]
    assert load.highest_held(steps)["offered_per_s"] == 20
    assert load.highest_held([made(10, 200, 0)]) is None  # the goal is p95 under 200 ms
    assert load.summarize([], seconds=10.0)["requests"] == 0
    assert not load.holds(load.summarize([], seconds=10.0))


def test_the_default_workload_stays_under_the_real_per_user_limits():
    limits = settings.JIEFANG_RATE_LIMITS
    assert load.limits_needed(0.5, run_seconds=180, limits=limits) == 1.0
    # a resident posting every few seconds would meet them: the bench then says it lifts them
    assert load.limits_needed(20.0, run_seconds=3600, limits=limits) > 1.0


def test_feed_api_filters_are_queries_the_api_accepts():
    assert len(load.FEED_API_FILTERS) > 1
    for filters in load.FEED_API_FILTERS:
        query = FeedQuerySerializer(data=filters)
        assert query.is_valid(), (filters, query.errors)


def test_dry_run_prints_the_workload_and_starts_nothing():
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--dry-run", "--rates", "4,8"],
        cwd=ROOT,
        env=_env_without_services(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stall_post" in done.stdout and "4/s (8 residents), 8/s (16 residents)" in done.stdout


def test_without_postgresql_the_load_part_is_skipped_with_a_reason():
    done = subprocess.run(
        [sys.executable, "bench/load.py"],
        cwd=ROOT,
        env=_env_without_services(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DATABASE_URL=postgres://" in done.stdout and "Skipped." in done.stdout


def test_locust_loads_the_residents():
    done = subprocess.run(
        [str(Path(sys.executable).parent / "locust"), "-f", "bench/locustfiles/residents.py", "--list"],
        cwd=ROOT,
        env=_env_without_services(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Resident" in done.stdout


@pytest.mark.services
def test_one_short_step_on_a_tiny_city_without_errors(tmp_path):
    """The whole path: servers, residents logged in, every kind of request and the sockets. At
    this low rate any error is a fault (a changed API, a CSRF or rate-limit refusal): the script
    then exits non-zero."""
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL}
    done = subprocess.run(
        [
            sys.executable, "bench/load.py", "--rows", "2000", "--residents", "200", "--rates", "4",
            "--step-seconds", "14", "--warmup-seconds", "4", "--workers", "2", "--rooms", "2",
            "--dir", str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr + (tmp_path / "load-locust.log").read_text()
    report = json.loads((tmp_path / "load-postgresql.json").read_text())
    step = report["steps"][0]
    assert step["errors"] == 0 and step["requests"] > 0
    assert "GET /" in step["by_name"]
