"""`make bench` stays runnable: bench/nearby.py end to end on a tiny city (the 1M-row run is not a test)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_nearby_bench_runs_end_to_end_and_agrees_with_the_scans(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "bench/nearby.py", "--rows", "2000", "--queries", "5", "--dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # a wrong answer (the selector disagreeing with the brute-force scans) exits non-zero
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "nearby-2000.json").read_text())
    results = report["sqlite"]["results"]
    assert [r["radius_m"] for r in results] == [200, 1000, 5000]
    for r in results:
        assert r["queries"] == 5 and r["scans"] == 5
        assert r["mismatches"] == 0
        assert r["selector_ms"]["p50"] > 0 and r["scan_ms"]["p50"] > 0
        assert r["cover_area_over_circle"] >= 1.0
    plan = report["sqlite"]["explain_1km"]
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert (tmp_path / "nearby-2000.sqlite3").exists()


def test_the_benchmarks_time_the_database_engines_the_site_runs_on():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import nearby as city
    finally:
        sys.path.remove(str(ROOT / "bench"))

    assert city.project_db_config("postgres://postgres@127.0.0.1:5432/x")["ENGINE"] == "apps.core.postgresql"
    assert city.project_db_config("sqlite:////tmp/x.sqlite3")["ENGINE"] == "django.db.backends.sqlite3"


def test_the_feed_benchmark_publishes_stalls_under_load_and_removes_them(transactional_db):
    """bench/feed.py's writer: residents' stalls at their homes, at its rate, each marking its area
    for the shared cards; gone again afterwards."""
    import time
    from argparse import Namespace

    from django.core.cache import cache

    from apps.market import card_cache
    from apps.market.models import Stall
    from tests.accounts.factories import JINGAN, ResidentFactory

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import feed
    finally:
        sys.path.remove(str(ROOT / "bench"))

    resident = ResidentFactory(home=JINGAN)
    keys = card_cache.mark_keys_of_circle(resident.point, 1000)
    writer = feed.StallWriter("default", Namespace(changes_per_second=40.0, seed=1))
    writer.start()
    time.sleep(0.3)
    writer.stop()
    assert 4 <= writer.published <= 20
    stalls = Stall.objects.filter(pk__in=writer.ids)
    assert {(s.seller_id, s.lat, s.lng, s.status) for s in stalls} == {
        (resident.pk, resident.lat, resident.lng, "open")
    }
    assert all(cache.get_many(keys).values()) and cache.get_many(keys)
    writer.remove()
    assert not Stall.objects.filter(pk__in=writer.ids).exists()
