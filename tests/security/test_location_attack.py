"""Location privacy under attack (issue 8): a resident tries to find where a neighbour lives.

The attacker is an ordinary signed-in resident using the real endpoints: the feed as JSON and as
pages with "near me now" origins around the victim, the map, the victim's profile and stall (API and
pages) from home positions they move as fast as the limits let them, and their own e-mail digest at
every radius they like. 1,000 queries in all. Everything that comes back is scanned for the victim's
true point, and every distance and area it carries becomes a constraint on where the victim lives.

What must hold (issue 2's privacy by construction):
- no answer carries the victim's point, or a number near it that is not a public grid coordinate;
  the only location-like data about the victim are their cell's outline and coarse distances;
- the region consistent with everything observed contains the victim's whole res-9 cell: the
  attacker learns the cell (which the stall's area shows anyway) and nothing finer;
- the limits on moving one's origin ("near me now") and one's home trigger when driven flat out.

The victim's true point is chosen well off the centre of their cell, so that any leak of it, or of a
distance measured from it, would show.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client
from h3.api import basic_int as h3i
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import Resident
from apps.core import ratelimit
from apps.market.models import Stall, StallPhoto
from apps.nearby import geo
from apps.notifications.selectors import digest_preview
from apps.trust.services import residency_decide
from tests.accounts.factories import JINGAN, TEST_PASSWORD, ResidentFactory
from tests.market.factories import make_shop, publish

pytestmark = pytest.mark.django_db

QUERIES = 1000
RES = settings.JIEFANG_HOME_RESOLUTION
# A number this close to one of the victim's true coordinates (about 100 m) must be a public grid or
# shop coordinate: otherwise it is the point, or the point rounded.
NEAR_DEG = 1e-3
SAME = 1e-9


# --- The victim's true point: inside their cell, far from its centre and from its outline's numbers ----


def off_centre_point(cell: int) -> geo.Point:
    """A point of `cell` about two thirds of the way to its outline, whose latitude and longitude each
    differ from every coordinate of the cell's centre and corners, so that a leak cannot hide
    behind a public number."""
    centre = geo.cell_center(cell)
    corners = h3i.cell_to_boundary(cell)
    public = [(centre.lat, centre.lng), *corners]
    for i in range(len(corners)):
        a, b = corners[i], corners[(i + 1) % len(corners)]
        for t in (0.5, 0.35, 0.65):
            edge = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            for f in (0.7, 0.6):
                p = geo.Point(centre.lat + f * (edge[0] - centre.lat), centre.lng + f * (edge[1] - centre.lng))
                if geo.cell_of(p.lat, p.lng, RES) != cell:
                    continue
                if all(abs(p.lat - la) > 1.5e-4 and abs(p.lng - ln) > 1.5e-4 for la, ln in public):
                    return p
    raise AssertionError("no suitable off-centre point")


VICTIM_CELL = geo.cell_of(JINGAN.lat, JINGAN.lng, RES)
TRUE = off_centre_point(VICTIM_CELL)
CENTRE = geo.cell_center(VICTIM_CELL)


def offset(p: geo.Point, north_m: float, east_m: float) -> geo.Point:
    return geo.Point(p.lat + north_m / 111_195.0, p.lng + east_m / (111_195.0 * math.cos(math.radians(p.lat))))


def clear_of_true(p: geo.Point) -> bool:
    """Origins and decoys keep off the victim's latitude and longitude, so that the numbers they
    bring into answers (echoed origins, shops' doors) are easy to tell from a leak."""
    return abs(p.lat - TRUE.lat) > 2 * NEAR_DEG and abs(p.lng - TRUE.lng) > 2 * NEAR_DEG


# --- Observations and the attacker's estimates ------------------------------------------------------


def previous_step(step: int) -> int:
    steps = geo.COARSE_STEPS_M
    if step in steps:
        i = steps.index(step)
        return steps[i - 1] if i else 0
    return step - 5000


@dataclass
class Observations:
    within: list[tuple[geo.Point, float, bool]] = field(default_factory=list)  # origin, radius, shown
    coarse: list[tuple[geo.Point, int]] = field(default_factory=list)  # origin, shown step (m)
    areas: set[tuple[tuple[float, float], ...]] = field(default_factory=set)

    def __len__(self):
        return len(self.within) + len(self.coarse) + len(self.areas)


def consistent_cells(obs: Observations, *, candidates: list[int], use_areas: bool) -> set[int]:
    """The attacker who read the code: the server measures from the centre of the home's cell. Which
    cells would have produced every observation? (Answers within a millimetre of a boundary, where
    floating point could go either way, are no evidence.)"""
    found = set()
    for cell in candidates:
        c = geo.cell_center(cell)
        ok = True
        for origin, radius, shown in obs.within:
            d = geo.distance_m(origin, c)
            if abs(d - radius) > 1e-3 and (d <= radius) != shown:
                ok = False
                break
        if ok:
            for origin, step in obs.coarse:
                d = geo.distance_m(origin, c)
                if not previous_step(step) - 1e-3 < d <= step + 1e-3:
                    ok = False
                    break
        if ok and use_areas:
            outline = tuple(geo.cell_boundary(cell))
            ok = all(area == outline for area in obs.areas)
        if ok:
            found.add(cell)
    return found


@dataclass
class Grid:
    """Points every `step_m` metres around the victim's cell, on a local plane (metres east, north):
    at these distances the plane is true to well under a metre, far below the slack used."""

    step_m: float
    half_m: float

    def __post_init__(self):
        self.lat0, self.lng0 = CENTRE.lat, CENTRE.lng
        self.ky = 111_195.0
        self.kx = 111_195.0 * math.cos(math.radians(self.lat0))
        n = int(self.half_m // self.step_m)
        self.points = [(i * self.step_m, j * self.step_m) for i in range(-n, n + 1) for j in range(-n, n + 1)]

    def xy(self, p: geo.Point) -> tuple[float, float]:
        return (p.lng - self.lng0) * self.kx, (p.lat - self.lat0) * self.ky

    def point(self, xy) -> geo.Point:
        return geo.Point(self.lat0 + xy[1] / self.ky, self.lng0 + xy[0] / self.kx)


def annuli_region(obs: Observations, grid: Grid, slack_m: float) -> list[tuple[float, float]]:
    """The attacker who reads only the documentation: a distance is to the centre of the home's area,
    which is at most `slack_m` from the home. Every observation becomes an annulus (or a disc, or its
    outside) around its origin, widened by the slack; the estimate is their intersection on the grid."""
    constraints = []  # (x, y, low, high): low < distance <= high
    for origin, radius, shown in obs.within:
        x, y = grid.xy(origin)
        constraints.append((x, y, -math.inf, radius + slack_m) if shown else (x, y, radius - slack_m, math.inf))
    for origin, step in obs.coarse:
        x, y = grid.xy(origin)
        constraints.append((x, y, previous_step(step) - slack_m, step + slack_m))
    # The tightest first, so that the points left to test shrink fast.
    constraints.sort(key=lambda c: (c[3] - c[2]) if math.isfinite(c[3] - c[2]) else math.inf)
    alive = grid.points
    for x, y, low, high in constraints:
        alive = [(px, py) for px, py in alive if low < math.hypot(px - x, py - y) <= high]
    return alive


# --- What the attacker sees: every answer is scanned ------------------------------------------------

FLOAT = re.compile(r"-?\d{1,3}\.\d{3,}")
# A time's seconds with their fraction ("05:08:31.215627") read as a number like a latitude: 31.2156.
TIME_OF_DAY = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+")
DISTANCE = re.compile(r"within about ([\d.,]+) (m|km)")
LIVES = re.compile(r"Lives within about ([\d.,]+) (m|km) of you")
JSON_SCRIPT = re.compile(r'<script id="([\w-]+)" type="application/json">(.*?)</script>', re.S)


def parse_distance(number: str, unit: str) -> int:
    value = float(number.replace(",", ""))
    return round(value * 1000) if unit == "km" else int(value)


def floats_in(value):
    if isinstance(value, bool):
        return
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from floats_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from floats_in(v)
    elif isinstance(value, str):
        for m in FLOAT.findall(TIME_OF_DAY.sub("", value)):
            yield float(m)


def leaks_in(what: str, text: str, data, public: set[float]) -> list[str]:
    """Numbers near one of the victim's true coordinates that are not public grid or shop numbers."""
    found = []
    for x in [*floats_in(data), *floats_in(text)]:
        for true in (TRUE.lat, TRUE.lng):
            if abs(x - true) < NEAR_DEG and not any(abs(x - k) < SAME for k in public):
                found.append(f"{what}: {x!r} is near the victim's {true!r}")
    return found


class Attacker:
    def __init__(self, *, resident: Resident, victim: Resident, stall: Stall, clock, public: set[float]):
        self.resident, self.victim, self.stall, self.clock = resident, victim, stall, clock
        self.api = APIClient(REMOTE_ADDR="198.51.100.66")
        self.api.force_authenticate(resident)
        self.web = Client(REMOTE_ADDR="198.51.100.66")
        self.web.force_login(resident)
        self.public = public  # numbers anyone may see: grid and shop coordinates, the attacker's own
        self.queries = 0
        self.refused: dict[str, int] = {}
        self.passed: dict[tuple[str, int], int] = {}  # (action, window's start): answers let through
        self.obs = Observations()
        self.leaks: list[str] = []

    # Everything that comes back goes through here.
    def scan(self, what: str, text: str, data=None) -> None:
        self.leaks += leaks_in(what, text, data, self.public)

    def allow(self, *points: geo.Point) -> None:
        for p in points:
            self.public.update((p.lat, p.lng, round(p.lat, 5), round(p.lng, 5), round(p.lat, 6), round(p.lng, 6)))

    def _request(self, action: str | None, send):
        """One query, sent as fast as allowed: a 429 is counted, waited out on the clock and retried."""
        while True:
            self.queries += 1
            response = send()
            if response.status_code != 429:
                assert response.status_code in (200, 201), (response.status_code, response.content[:300])
                if action:
                    window = settings.JIEFANG_RATE_LIMITS[action]["user"][1]
                    key = (action, int(self.clock.now // window))
                    self.passed[key] = self.passed.get(key, 0) + 1
                return response
            assert action is not None, response.content[:300]
            wait = int(response.headers["Retry-After"])
            assert wait > 0
            self.refused[action] = self.refused.get(action, 0) + 1
            self.clock.advance(wait)
            if self.queries >= QUERIES:
                return None

    # --- "near me now" ---

    def origin_of(self, lat: float, lng: float) -> geo.Point:
        """Where the server measures a "near me now" feed from: the attacker knows the code."""
        return geo.snap_to_cell_center(lat, lng, RES + 1)

    def feed_api(self, at: geo.Point, radius: int, *, search: bool) -> bool:
        """Whether the victim's stall was in the feed around `at` within `radius`."""
        params = {"lat": round(at.lat, 5), "lng": round(at.lng, 5), "radius_m": radius, "seller": "neighbours"}
        if search:
            params["q"] = self.stall.title
        response = self._request("near_me_now", lambda: self.api.get("/api/stalls/feed/", params))
        if response is None:
            return False
        body = response.json()
        self.scan("feed api", "", body)
        origin = self.origin_of(params["lat"], params["lng"])
        mine = [s for s in body["results"] if s["id"] == self.stall.pk]
        if search or len(body["results"]) < 20:  # a full page may have pushed it to the next one
            self.obs.within.append((origin, radius, bool(mine)))
        for s in mine:
            assert set(s["location"]) == {"exact", "area"} and s["location"]["exact"] is False
            self.obs.areas.add(tuple(tuple(p) for p in s["location"]["area"]))
            self.obs.coarse.append((origin, s["distance_m"]))
        return bool(mine)

    def feed_page(self, at: geo.Point, radius: int, *, page: str) -> None:
        params = {"lat": round(at.lat, 5), "lng": round(at.lng, 5), "radius_m": radius, "seller": "neighbours"}
        url = "/" if page == "feed" else "/market/map/"
        response = self._request("near_me_now", lambda: self.web.get(url, params))
        if response is None:
            return
        html = response.content.decode()
        scripts = {name: json.loads(body) for name, body in JSON_SCRIPT.findall(html)}
        self.scan(page, html, scripts)
        origin = self.origin_of(params["lat"], params["lng"])
        if page == "feed":
            card = re.search(rf'data-stall-id="{self.stall.pk}".*?</article>', html, re.S)
            self.obs.within.append((origin, radius, card is not None))
            if card:
                self.obs.coarse.append((origin, parse_distance(*DISTANCE.search(card.group(0)).groups())))
        else:
            markers = [m for m in scripts["feed-markers"] if m["id"] == self.stall.pk]
            self.obs.within.append((origin, radius, bool(markers)))
            for m in markers:
                assert "point" not in m
                self.obs.areas.add(tuple(tuple(p) for p in m["area"]))

    # --- from home ---

    def move_home(self, to: geo.Point) -> bool:
        response = self._request("home_set", lambda: self.api.put("/api/me/home/", {"lat": to.lat, "lng": to.lng}))
        if response is None:
            return False
        self.scan("home", "", response.json())
        self.resident.refresh_from_db()
        return True

    @property
    def home(self) -> geo.Point:
        return self.resident.point

    def profile(self) -> None:
        body = self._request(None, lambda: self.api.get(f"/api/residents/{self.victim.pk}/")).json()
        self.scan("profile api", "", body)
        self.obs.coarse.append((self.home, body["coarse_distance_m"]))
        html = self._request(None, lambda: self.web.get(f"/accounts/residents/{self.victim.pk}/")).content.decode()
        self.scan("profile page", html)
        self.obs.coarse.append((self.home, parse_distance(*LIVES.search(html).groups())))

    def stall_views(self) -> None:
        body = self._request(None, lambda: self.api.get(f"/api/stalls/{self.stall.pk}/")).json()
        self.scan("stall api", "", body)
        self.obs.coarse.append((self.home, body["distance_m"]))
        self.obs.areas.add(tuple(tuple(p) for p in body["location"]["area"]))
        html = self._request(None, lambda: self.web.get(f"/market/stalls/{self.stall.pk}/")).content.decode()
        scripts = {name: json.loads(body) for name, body in JSON_SCRIPT.findall(html)}
        self.scan("stall page", html, scripts)
        self.obs.coarse.append((self.home, parse_distance(*DISTANCE.search(html).groups())))
        self.obs.areas.add(tuple(tuple(p) for p in scripts["home-area"]))

    def home_feed(self, radius: int) -> None:
        params = {"radius_m": radius, "seller": "neighbours", "q": self.stall.title}
        body = self._request(None, lambda: self.api.get("/api/stalls/feed/", params)).json()
        self.scan("home feed", "", body)
        self.obs.within.append((self.home, radius, any(s["id"] == self.stall.pk for s in body["results"])))

    def digest(self, radius: int) -> None:
        """The attacker's own digest at a radius of their choosing: neighbours newly verified within
        it are named, and the victim's stall is listed with its distance."""
        self._request(None, lambda: self.api.patch("/api/me/", {"radius_m": radius}, format="json"))
        self.resident.refresh_from_db()
        self.queries += 1
        _digest, message, _prefs = digest_preview(resident=self.resident)
        text = message.body if message else ""
        html = message.alternatives[0][0] if message else ""
        self.scan("digest", text + html)
        named = re.search(r"newly verified: (.*)\.", text)
        self.obs.within.append((self.home, radius, bool(named and self.victim.display_name in named.group(1))))
        line = next((ln for ln in text.splitlines() if ln.startswith(f"- {self.stall.title} (")), None)
        self.obs.within.append((self.home, radius, line is not None))
        if line:
            self.obs.coarse.append((self.home, parse_distance(*DISTANCE.search(line).groups())))


class Clock:
    """The rate limiter's clock: the attacker waits out a refusal by moving it on, not by sleeping."""

    def __init__(self, monkeypatch):
        self.now = 1_900_000_000 // 86_400 * 86_400 + 1.0  # just after a day starts: windows are aligned
        monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: self.now))

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- The neighbourhood ------------------------------------------------------------------------------


def gps_jpeg(point: geo.Point) -> bytes:
    """A camera's photo taken at the victim's door: EXIF with its GPS position."""

    def dms(value):
        value = abs(value)
        d = int(value)
        m = int((value - d) * 60)
        return (float(d), float(m), round(((value - d) * 60 - m) * 60, 4))

    exif = Image.Exif()
    exif[0x010F] = "DoorCam"
    exif[0x8825] = {1: "N", 2: dms(point.lat), 3: "E", 4: dms(point.lng)}
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def sign_up_victim() -> tuple[Resident, Stall]:
    """The victim signs up, chooses their home by its true point, and posts a stall with a photo,
    all through the site."""
    web = Client(REMOTE_ADDR="203.0.113.5")
    assert (
        web.post(
            "/accounts/signup/",
            {
                "username": "victim",
                "email": "victim@example.org",
                "display_name": "Mei the victim",
                "language": "en",
                "password1": TEST_PASSWORD,
                "password2": TEST_PASSWORD,
            },
        ).status_code
        == 302
    )
    assert web.post("/accounts/home/", {"lat": TRUE.lat, "lng": TRUE.lng}).status_code == 302
    victim = Resident.objects.get(username="victim")
    api = APIClient(REMOTE_ADDR="203.0.113.5")
    api.force_authenticate(victim)
    photo = SimpleUploadedFile("door.jpg", gps_jpeg(TRUE), "image/jpeg")
    assert api.post("/api/me/avatar/", {"avatar": photo}, format="multipart").status_code == 200
    photo = SimpleUploadedFile("cooker.jpg", gps_jpeg(TRUE), "image/jpeg")
    created = api.post(
        "/api/stalls/",
        {"kind": "sale", "title": "Rice cooker, barely used", "price": "80", "photos": [photo]},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    moderator = ResidentFactory(home=JINGAN, is_staff=True, is_superuser=True)
    residency_decide(moderator=moderator, resident=victim, verify=True, reason="Saw a utility bill")
    victim.refresh_from_db()
    return victim, Stall.objects.get(pk=created.json()["id"])


def decoys(rng: random.Random) -> list[geo.Point]:
    """Other neighbours' stalls and shops around, so that the victim's is one among many."""
    placed = []
    while len(placed) < 8:
        p = offset(CENTRE, rng.uniform(-1500, 1500), rng.uniform(-1500, 1500))
        cell = geo.cell_of(p.lat, p.lng, RES)
        if cell == VICTIM_CELL or not clear_of_true(p) or not clear_of_true(geo.cell_center(cell)):
            continue
        placed.append(p)
    for i, p in enumerate(placed):
        if i % 2:
            publish(shop=make_shop(at=p), title=f"Shop stall {i}")
        else:
            publish(ResidentFactory(home=p), title=f"Neighbour stall {i}")
    return placed


def public_numbers() -> set[float]:
    """Every coordinate the site may show: the cells of every home and of every stall, their
    centres, and shops' doors."""
    numbers: set[float] = set()
    cells = set(Resident.objects.exclude(home_cell=None).values_list("home_cell", flat=True))
    for lat, lng, exact in Stall.objects.values_list("lat", "lng", "location_is_exact"):
        if exact:
            numbers.update((lat, lng, round(lat, 6), round(lng, 6)))
        else:
            cells.add(geo.cell_of(lat, lng, RES))
    for cell in cells:
        c = geo.cell_center(cell)
        numbers.update((c.lat, c.lng))
        for lat, lng in geo.cell_boundary(cell):
            numbers.update((lat, lng))
    return numbers


# --- The attack ---------------------------------------------------------------------------------------


def test_a_thousand_queries_from_fake_origins_locate_the_victim_no_better_than_their_cell(monkeypatch, capsys):
    rng = random.Random(8)
    clock = Clock(monkeypatch)
    victim, stall = sign_up_victim()
    decoys(rng)
    start = next(
        p
        for p in (offset(CENTRE, rng.uniform(-2500, 2500), rng.uniform(-2500, 2500)) for _ in range(1000))
        if 800 < geo.distance_m(p, CENTRE) < 2500 and clear_of_true(geo.cell_center(geo.cell_of(p.lat, p.lng, RES)))
    )
    attacker = Attacker(
        resident=ResidentFactory(home=start, display_name="Curious"),
        victim=victim,
        stall=stall,
        clock=clock,
        public=public_numbers(),
    )

    def origin_near(low_m: float, high_m: float) -> geo.Point:
        while True:
            angle, r = rng.uniform(0, 2 * math.pi), rng.uniform(low_m, high_m)
            p = offset(TRUE, r * math.cos(angle), r * math.sin(angle))
            snapped = attacker.origin_of(round(p.lat, 5), round(p.lng, 5))
            if clear_of_true(p) and clear_of_true(snapped):
                attacker.allow(p, snapped)
                return p

    # 1. "Near me now" from origins all around, each with a binary search on the radius: the sharpest
    # oracle there is (is the stall within r?), down to a metre.
    for _ in range(32):
        at = origin_near(300, 2500)
        low, high = settings.JIEFANG_RADIUS_MIN_M, settings.JIEFANG_RADIUS_MAX_M
        while high - low > 1 and attacker.queries < QUERIES:
            mid = (low + high) // 2
            shown = attacker.feed_api(at, mid, search=True)
            low, high = (low, mid) if shown else (mid, high)

    # 2. The pages: the feed and the map around more origins, at random radii.
    for i in range(120):
        attacker.feed_page(origin_near(200, 3000), rng.randrange(200, 5001), page="feed" if i % 2 else "map")

    # 3. Moving home as fast as allowed: from each new home, the profile, the stall, the feed and
    # the digest at two radii.
    homes = 0
    while homes < 18 and attacker.queries < QUERIES - 30:
        while True:
            to = origin_near(400, 2500)
            cell = geo.cell_of(to.lat, to.lng, RES)
            if clear_of_true(geo.cell_center(cell)) and cell != attacker.resident.home_cell:
                break
        attacker.allow(geo.cell_center(cell), *(geo.Point(*v) for v in geo.cell_boundary(cell)))
        if not attacker.move_home(to):
            break
        homes += 1
        attacker.profile()
        attacker.stall_views()
        d = geo.distance_m(attacker.home, CENTRE)
        attacker.home_feed(max(200, min(5000, int(d + rng.uniform(-150, 150)))))
        attacker.digest(max(200, min(5000, int(d + rng.uniform(-150, 150)))))

    # 4. What is left of the thousand: more "near me now" at random radii, from anywhere around.
    while attacker.queries < QUERIES:
        attacker.feed_api(origin_near(200, 3000), rng.randrange(200, 5001), search=bool(rng.getrandbits(1)))

    assert attacker.queries >= QUERIES
    assert not attacker.leaks, attacker.leaks[:10]

    # The limits triggered, and never let more through in a window than they allow.
    limits = settings.JIEFANG_RATE_LIMITS
    assert attacker.refused.get("near_me_now", 0) >= 2, attacker.refused
    assert attacker.refused.get("home_set", 0) >= 2, attacker.refused
    for (action, _window), passed in attacker.passed.items():
        assert passed <= limits[action]["user"][0], (action, passed)

    # The only area ever shown for the victim is their cell's outline.
    obs = attacker.obs
    assert obs.areas == {tuple(geo.cell_boundary(VICTIM_CELL))}
    assert {step for _, step in obs.coarse} <= set(geo.COARSE_STEPS_M)

    # The attacker who knows the code: the cells consistent with every distance they saw.
    candidates = [int(c) for c in h3i.grid_disk(VICTIM_CELL, 12)]
    by_distance = consistent_cells(obs, candidates=candidates, use_areas=False)
    with_areas = consistent_cells(obs, candidates=candidates, use_areas=True)
    assert VICTIM_CELL in by_distance and with_areas == {VICTIM_CELL}
    assert not by_distance & set(h3i.grid_ring(VICTIM_CELL, 12)), "the candidates must reach past the region"

    # The attacker who knows the documentation: annuli widened by the area's reach, on a 10 m grid.
    reach = max(geo.distance_m(CENTRE, geo.Point(*v)) for v in h3i.cell_to_boundary(VICTIM_CELL)) + 1.0
    grid = Grid(step_m=10.0, half_m=700.0)
    region = annuli_region(obs, grid, reach)
    region_set = set(region)
    in_cell = [xy for xy in grid.points if geo.cell_of(*_latlng(grid.point(xy)), RES) == VICTIM_CELL]
    assert in_cell and all(xy in region_set for xy in in_cell), "the estimate must not cut into the cell"
    edge = grid.half_m - grid.step_m
    assert all(abs(x) < edge and abs(y) < edge for x, y in region), "the grid must reach past the region"
    cx = sum(x for x, _ in region) / len(region)
    cy = sum(y for _, y in region) / len(region)
    estimate = grid.point((cx, cy))
    error = geo.distance_m(estimate, TRUE)
    off = geo.distance_m(CENTRE, TRUE)
    # The best guess is the centre of the cell, no nearer the victim's door than the centre is.
    assert error > 0.8 * off

    cell_area = h3i.cell_area(VICTIM_CELL, "m^2")
    with capsys.disabled():
        print(
            f"\nlocation attack: {attacker.queries} queries ({len(obs)} observations: {len(obs.within)} within-radius,"
            f" {len(obs.coarse)} coarse distances, {len(obs.areas)} distinct area);"
            f" refused near_me_now x{attacker.refused.get('near_me_now', 0)},"
            f" home_set x{attacker.refused.get('home_set', 0)} ({homes} homes);"
            f" simulated time {(clock.now - 1_900_000_000 // 86_400 * 86_400) / 3600:.1f} h\n"
            f"  code-aware attacker: {len(by_distance)} cell(s) fit the distances alone,"
            f" {len(with_areas)} with the areas: {len(with_areas) * cell_area / 1e6:.4f} km² vs the cell's"
            f" {cell_area / 1e6:.4f} km²\n"
            f"  annuli attacker: region {len(region) * grid.step_m**2 / 1e6:.4f} km²"
            f" ({len(region) * grid.step_m**2 / cell_area:.2f}x the cell), all {len(in_cell)} grid points of the"
            f" cell inside; best estimate {error:.0f} m from the victim's door"
            f" (the cell's centre is {off:.0f} m from it, {geo.distance_m(estimate, CENTRE):.0f} m from the estimate)"
        )


def _latlng(p: geo.Point) -> tuple[float, float]:
    return p.lat, p.lng


# --- What the server kept ---------------------------------------------------------------------------


def test_nothing_the_victim_sent_is_kept_finer_than_their_cell():
    """The true point went through the home form and the EXIF of photos sent through the API and the
    pages (avatar, stalls): no column anywhere holds a number near it that is not the cell's own, and
    every photo is stored without EXIF."""
    victim, stall = sign_up_victim()
    web = Client()
    web.force_login(victim)
    page_photo = SimpleUploadedFile("porch.jpg", gps_jpeg(TRUE), "image/jpeg")
    form = {"kind": "free", "title": "Pot plants", "category": "other", "quantity": 1, "photos": [page_photo]}
    assert web.post("/market/stalls/new/", form).status_code == 302
    page_avatar = SimpleUploadedFile("me.jpg", gps_jpeg(TRUE), "image/jpeg")
    profile = {"display_name": "Mei", "bio": "", "language": "en", "radius_m": 1000, "avatar": page_avatar}
    assert web.post("/accounts/profile/", profile).status_code == 302
    victim.refresh_from_db()
    assert (victim.lat, victim.lng) == (CENTRE.lat, CENTRE.lng)
    assert (stall.lat, stall.lng) == (CENTRE.lat, CENTRE.lng)
    public = public_numbers()
    for model in django_apps.get_models():
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.FloatField | models.DecimalField):
                continue
            for true in (TRUE.lat, TRUE.lng):
                near = model._default_manager.filter(**{f"{f.name}__range": (true - NEAR_DEG, true + NEAR_DEG)})
                values = {float(v) for v in near.values_list(f.name, flat=True)}
                assert all(any(abs(v - k) < SAME for k in public) for v in values), (model, f.name, values)
    files = [victim.avatar, *(p.image for p in StallPhoto.objects.filter(stall__seller=victim))]
    assert len(files) == 3
    for file in files:
        raw = file.open("rb").read()
        file.close()
        image = Image.open(io.BytesIO(raw))
        assert not image.getexif() and "exif" not in image.info, file.name
        assert b"DoorCam" not in raw and b"Exif" not in raw, file.name


# --- Chat: what a conversation about the victim's stall, and their neighbourhood room, carry ----------


@pytest.mark.django_db(transaction=True)
def test_chat_with_the_victim_carries_no_place(monkeypatch):
    """The attacker writes to the victim about their stall and reads their neighbourhood room, over
    the API, the pages and the socket: names and messages, never a point, a distance or an area; the
    victim's photo arrives without EXIF."""
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from neighborhood.asgi import application

    victim, stall = sign_up_victim()

    def room_of(p: geo.Point) -> int:
        return h3i.cell_to_parent(geo.cell_of(p.lat, p.lng, RES), settings.JIEFANG_CHAT_ROOM_RESOLUTION)

    home = next(
        p
        for p in (offset(CENTRE, 600 * math.cos(a / 10), 600 * math.sin(a / 10)) for a in range(63))
        if room_of(p) == room_of(CENTRE) and clear_of_true(geo.cell_center(geo.cell_of(p.lat, p.lng, RES)))
    )
    attacker = ResidentFactory(home=home, display_name="Curious")
    public = public_numbers()
    clients = {}
    for who in (attacker, victim):
        api, web = APIClient(), Client()
        api.force_authenticate(who)
        web.force_login(who)
        clients[who.pk] = (api, web)
    a_api, a_web = clients[attacker.pk]
    v_api, v_web = clients[victim.pk]
    seen: list[tuple[str, str, object]] = []

    def got(what, response):
        assert response.status_code in (200, 201), (what, response.status_code, response.content[:300])
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        seen.append((what, "" if is_json else response.content.decode(), response.json() if is_json else None))
        return response

    talk = got("open", a_api.post("/api/chat/conversations/", {"stall_id": stall.pk}, format="json")).json()
    assert talk["stall"] == {"id": stall.pk, "title": stall.title}

    def socket(web):
        cookie = f"sessionid={web.cookies['sessionid'].value}".encode()
        headers = [(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)]
        return WebsocketCommunicator(application, f"/ws/chat/{talk['id']}/", headers=headers)

    async def live():
        a, v = socket(a_web), socket(v_web)
        for comm in (a, v):
            assert (await comm.connect(timeout=10))[0]
        await v.send_json_to({"type": "message.send", "client_id": "v1", "body": "Come by after six"})
        frames = []
        while not any(f.get("type") == "message.new" for f in frames):
            frames.append(await a.receive_json_from(timeout=10))
        for comm in (a, v):
            await comm.disconnect()
        return frames

    for frame in async_to_sync(live)():
        seen.append(("socket", "", frame))
    photo = SimpleUploadedFile("gate.jpg", gps_jpeg(TRUE), "image/jpeg")
    got("photo", v_api.post(f"/api/chat/conversations/{talk['id']}/messages/", {"client_id": "v2", "photo": photo}))
    got("messages", a_api.get(f"/api/chat/conversations/{talk['id']}/messages/"))
    got("list", a_api.get("/api/chat/conversations/"))
    got("page", a_web.get(f"/chat/{talk['id']}/"))
    got("pages", a_web.get("/chat/"))
    # The neighbourhood room: the victim posts, the attacker of the same area reads.
    room = got("join", v_api.post("/api/chat/rooms/join/", {}, format="json")).json()
    got("join", a_api.post("/api/chat/rooms/join/", {}, format="json"))
    got("say", v_api.post(f"/api/chat/conversations/{room['id']}/messages/", {"client_id": "r1", "body": "Hello all"}))
    got("room", a_api.get(f"/api/chat/conversations/{room['id']}/messages/"))
    got("room page", a_web.get(f"/chat/{room['id']}/"))

    everything = json.dumps([d for *_, d in seen], ensure_ascii=False)
    assert "Come by after six" in everything and "Hello all" in everything
    for what, text, data in seen:
        assert not leaks_in(what, text, data, public)
        assert not re.search(r'"(lat|lng|distance\w*|area|boundary|point)"\s*:', json.dumps(data)), (what, data)
        assert not DISTANCE.search(text) and not LIVES.search(text), what
    from apps.chat.models import Message

    stored = Message.objects.exclude(photo="").get()
    raw = stored.photo.open("rb").read()
    stored.photo.close()
    assert not Image.open(io.BytesIO(raw)).getexif() and b"DoorCam" not in raw and b"Exif" not in raw
