"""The residents of bench/load.py, for locust (run by it, headless, in a process of its own).

bench/load.py writes the plan (JIEFANG_LOAD_PLAN: the residents with their session, room and direct
conversation, the steps, where the figures go). Each simulated resident:
- comes from an address of its own (X-Forwarded-For, which uvicorn trusts from 127.0.0.1 as from the
  reverse proxy of a deployment), so the per-address rate limits count it as one person;
- opens the feed page (which sets the CSRF cookie its posts send back), then keeps a WebSocket open
  on its neighbourhood room, as the room page does;
- does `user_rate` actions per second, picked by the weights of `load.WORKLOAD`.

Every HTTP request, and every message sent on a socket (timed to its ack), is recorded; so is the
time from each room message's send (over HTTP or the socket) to its arrival on the other members'
sockets. `StepShape` raises the number of residents step by step and writes each step's figures
when it ends; the first step that misses the goal ends the run (unless `all_steps`).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlencode

import gevent
import websocket
from gevent.event import AsyncResult
from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from requests.cookies import create_cookie

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chat  # bench/chat.py: cpu_seconds
import feed  # bench/feed.py: group_cpu_seconds
import load  # bench/load.py: the workload and the figures

PLAN_PATH = os.environ.get("JIEFANG_LOAD_PLAN")
# Without a plan (`locust --list`, the tests) the file still loads, with no residents to play.
PLAN = json.loads(Path(PLAN_PATH).read_text()) if PLAN_PATH else {"residents": [], "user_rate": 0.5, "steps": []}
STALL_LINK_RE = re.compile(r'href="/market/stalls/(\d+)/"')
ACK_TIMEOUT_S = 10.0


class Figures:
    """Everything measured, with the time it ended; each step takes its measured window."""

    def __init__(self):
        self.requests: list[tuple[float, str, float, bool]] = []
        self.deliveries: list[tuple[float, float]] = []
        self.sent_at: dict[str, tuple[float, int]] = {}  # client id -> (perf_counter at send, sender)

    def window(self, start: float, end: float):
        requests = [(name, ms, ok) for t, name, ms, ok in self.requests if start <= t < end]
        deliveries = [ms for t, ms in self.deliveries if start <= t < end]
        return requests, deliveries


FIGURES = Figures()


@events.request.add_listener
def _record(request_type, name, response_time, exception, **_kwargs):
    FIGURES.requests.append((time.time(), f"{request_type} {name}", response_time, exception is None))


_next_resident = itertools.count()


class Resident(FastHttpUser):
    wait_time = constant_throughput(PLAN["user_rate"])
    # Connections are kept, as a browser keeps them; a request that waits this long is an error.
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self):
        self.index = next(_next_resident)
        # bench/load.py makes as many residents as the last step has users; a user started again
        # after a failure shares one, and its client ids (with its own index) still differ.
        me = PLAN["residents"][self.index % len(PLAN["residents"])]
        self.me, self.n = me, 0
        self.rng = random.Random(self.index)
        i = self.index
        self.headers = {"X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"}
        host = self.host.split("://", 1)[1].split(":")[0]
        self.client.cookiejar.set_cookie(create_cookie("sessionid", me["session"], domain=host))
        self.stalls: deque[int] = deque(maxlen=40)
        self.pending: dict[str, AsyncResult] = {}
        self.ws = self.listener = None
        self.stopping = False
        self.feed_page()  # sets the CSRF cookie
        self.csrf = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        self.connect()

    def on_stop(self):
        self.stopping = True
        if self.ws is not None:
            self.listener.kill(block=False)
            self.ws.close()

    def connect(self):
        """Opens the room's socket (session cookie, membership check, accepted), timed as a request:
        a socket refused or not answered within ACK_TIMEOUT_S is an error; the next send tries again."""
        start, exception = time.perf_counter(), None
        try:
            self.ws = websocket.create_connection(
                PLAN["ws_base"] + f"/ws/chat/{self.me['room']}/",
                header=[
                    f"Cookie: sessionid={self.me['session']}",
                    f"X-Forwarded-For: {self.headers['X-Forwarded-For']}",
                ],
                origin=self.host,
                timeout=ACK_TIMEOUT_S,
            )
            self.ws.settimeout(None)
            self.listener = gevent.spawn(self._listen, self.ws)
        except (websocket.WebSocketException, OSError) as exc:
            self.ws, exception = None, exc
        events.request.fire(
            request_type="WS",
            name="connect",
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=exception,
            context={},
        )

    def _listen(self, ws):
        """The room's socket: acks of this resident's sends, and others' room messages (timed)."""
        try:
            while True:
                text = ws.recv()
                if not text:
                    break
                frame = json.loads(text)
                kind = frame.get("type")
                if kind == "message.new":
                    sent = FIGURES.sent_at.get(frame["message"]["client_id"])
                    if sent is not None and sent[1] != self.index:
                        FIGURES.deliveries.append((time.time(), (time.perf_counter() - sent[0]) * 1000))
                elif kind in ("message.ack", "error") and frame.get("client_id") in self.pending:
                    self.pending.pop(frame["client_id"]).set(frame)
        except (websocket.WebSocketException, OSError):
            pass
        if not self.stopping:  # closed by the server: counted as an error, and opened again at the next send
            events.request.fire(
                request_type="WS",
                name="closed by the server",
                response_time=0,
                response_length=0,
                exception=ConnectionError("the server closed the room's socket"),
                context={},
            )
            self.ws = None

    def _client_id(self) -> str:
        self.n += 1
        return f"load-{self.index}-{self.n}"

    def _post_json(self, path: str, body: dict, name: str):
        headers = {**self.headers, "X-CSRFToken": self.csrf, "Referer": self.host + "/"}
        return self.client.post(path, json=body, headers=headers, name=name)

    # --- the actions, by the weights of load.WORKLOAD ---

    @task(load.WORKLOAD["feed_page"])
    def feed_page(self):
        with self.client.get("/", headers=self.headers, name="/", catch_response=True) as response:
            if response.status_code == 200:
                if "/accounts/logout/" not in response.text:
                    response.failure("the feed page is not the logged-in one")
                self.stalls.extend(int(pk) for pk in STALL_LINK_RE.findall(response.text))

    @task(load.WORKLOAD["stall_page"])
    def stall_page(self):
        if not self.stalls:
            return self.feed_page()
        pk = self.rng.choice(self.stalls)
        self.client.get(f"/market/stalls/{pk}/", headers=self.headers, name="/market/stalls/[id]/")

    @task(load.WORKLOAD["feed_api"])
    def feed_api(self):
        filters = PLAN["feed_api_filters"][self.rng.randrange(len(PLAN["feed_api_filters"]))]
        query = f"?{urlencode(filters)}" if filters else ""
        response = self.client.get(f"/api/stalls/feed/{query}", headers=self.headers, name="/api/stalls/feed/")
        if response.status_code == 200:
            self.stalls.extend(s["id"] for s in response.json()["results"])

    @task(load.WORKLOAD["chat_list"])
    def chat_list(self):
        self.client.get("/chat/", headers=self.headers, name="/chat/")

    @task(load.WORKLOAD["chat_history"])
    def chat_history(self):
        conversation = self.me["direct"] if self.n % 2 and self.me["direct"] else self.me["room"]
        self.n += 1
        self.client.get(
            f"/api/chat/conversations/{conversation}/messages/",
            headers=self.headers,
            name="/api/chat/conversations/[id]/messages/",
        )

    @task(load.WORKLOAD["chat_send_http"])
    def chat_send_http(self):
        client_id = self._client_id()
        to_room = self.n % 2 == 0 or not self.me["direct"]
        conversation = self.me["room"] if to_room else self.me["direct"]
        if to_room:
            FIGURES.sent_at[client_id] = (time.perf_counter(), self.index)
        self._post_json(
            f"/api/chat/conversations/{conversation}/messages/",
            {"client_id": client_id, "body": f"Anyone near the market this evening? ({client_id})"},
            name="/api/chat/conversations/[id]/messages/",
        )

    @task(load.WORKLOAD["chat_send_ws"])
    def chat_send_ws(self):
        if self.ws is None:
            self.connect()
            if self.ws is None:
                return
        client_id = self._client_id()
        answer = self.pending[client_id] = AsyncResult()
        start = time.perf_counter()
        FIGURES.sent_at[client_id] = (start, self.index)
        frame = {"type": "message.send", "client_id": client_id, "body": f"Fresh bread at the corner ({client_id})"}
        exception = None
        try:
            self.ws.send(json.dumps(frame))
            reply = answer.get(timeout=ACK_TIMEOUT_S)
            if reply["type"] != "message.ack":
                exception = RuntimeError(f"{reply.get('code')}: {reply.get('detail')}")
        except gevent.Timeout:
            self.pending.pop(client_id, None)
            exception = TimeoutError(f"no ack within {ACK_TIMEOUT_S:.0f} s")
        except (websocket.WebSocketException, OSError) as exc:
            exception = exc
        events.request.fire(
            request_type="WS",
            name="message.send",
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=exception,
            context={},
        )

    @task(load.WORKLOAD["stall_post"])
    def stall_post(self):
        kind, category, price = self.rng.choice(
            [("sale", "second_hand", "35.00"), ("free", "other", None), ("sale", "fruit_veg", "8.50")]
        )
        self._post_json(
            "/api/stalls/",
            {
                "kind": kind,
                "category": category,
                "title": f"Bench stall {self._client_id()}",
                "description": "Posted by the load benchmark; removed at its end.",
                "price": price,
            },
            name="/api/stalls/",
        )


class StepShape(LoadTestShape):
    """The plan's steps in turn: users for `step_seconds` each, measured after `warmup_seconds`."""

    def __init__(self):
        super().__init__()
        self.index = 0
        self.started = None
        self.cpu_at_window = None
        self.steps_done: list[dict] = []

    def tick(self):
        steps = PLAN["steps"]
        if not steps:
            return None
        now = time.time()
        if self.started is None:
            self.started = now
        elapsed = now - self.started
        if self.cpu_at_window is None and elapsed >= PLAN["warmup_seconds"]:
            self.cpu_at_window = (now, self._server_cpu(), self._database_cpu(), time.process_time())
        if elapsed >= PLAN["step_seconds"]:
            step = self._finish(now)
            if self.index == len(steps) or not (load.holds(step) or PLAN["all_steps"]):
                return None
        step = steps[self.index]
        # every resident of the step started within the first half of its warm-up
        spawn_rate = max(5.0, step["users"] / max(1.0, PLAN["warmup_seconds"] / 2))
        return step["users"], spawn_rate

    def _server_cpu(self) -> float:
        return sum(feed.group_cpu_seconds(pgid) for pgid in PLAN["server_pgids"])

    def _database_cpu(self) -> dict[int, float]:
        """CPU seconds so far of each PostgreSQL backend serving the servers (their PGAPPNAME)."""
        import psycopg

        with psycopg.connect(PLAN["database_url"], autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [PLAN["app_name"]])
            pids = [row[0] for row in rows]
        seconds = {}
        for pid in pids:
            try:
                seconds[pid] = chat.cpu_seconds(pid)
            except OSError:
                pass  # the backend ended meanwhile
        return seconds

    def _finish(self, now: float) -> dict:
        start, server_cpu, database_cpu, client_cpu = self.cpu_at_window
        seconds = now - start
        requests, deliveries = FIGURES.window(start, now)
        step = {**PLAN["steps"][self.index], "seconds": round(seconds, 1), **load.summarize(requests, seconds)}
        step["delivery"] = {
            "count": len(deliveries),
            "p50_ms": load.percentile(deliveries, 0.50),
            "p95_ms": load.percentile(deliveries, 0.95),
            "p99_ms": load.percentile(deliveries, 0.99),
        }
        step["server_cores"] = (self._server_cpu() - server_cpu) / seconds
        step["client_cores"] = (time.process_time() - client_cpu) / seconds
        # a backend the pool opened during the window counts whole; one it closed is not counted
        db = sum(cpu - database_cpu.get(pid, 0.0) for pid, cpu in self._database_cpu().items())
        step["database_cores"] = db / seconds
        requests = max(1, step["requests"])
        step["cpu_ms_per_request"] = {
            "servers": step["server_cores"] * seconds * 1000 / requests,
            "database": db * 1000 / requests,
            "load_generator": step["client_cores"] * seconds * 1000 / requests,
        }
        step["load_average_1m"] = os.getloadavg()[0]
        self.steps_done.append(step)
        Path(PLAN["results"]).write_text(json.dumps(self.steps_done, indent=2))
        print("STEP " + load.step_line(step), flush=True)
        self.index += 1
        self.started, self.cpu_at_window = now, None
        FIGURES.requests = [r for r in FIGURES.requests if r[0] >= now]
        FIGURES.deliveries = [d for d in FIGURES.deliveries if d[0] >= now]
        return step
