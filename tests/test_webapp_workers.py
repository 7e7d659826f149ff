"""Issue 9 item 5: examples/webhook_fastapi_workers.py on two worker processes — a request
on one worker awaits a job whose callback arrives at the other.

A ``flowapi fake-server`` subprocess and two app processes (uvicorn, one worker each)
sharing one PostgreSQL journal (the ``postgres_dsn`` fixture). Worker A's ``PUBLIC_URL``
is worker B's address and vice versa, so *every* callback for A's jobs lands on B and B's
on A: each outcome crosses processes through the journal (``record_callback`` + ``NOTIFY``
→ the owning watcher). Checked from the answers, each app's ``/healthz`` counters and the
fake's ground truth (``GET /_fake/state``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")]

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "user:1234-webapp-s3cret-token"
TIME_SCALE = 0.01  # a 60-120 s video takes 0.6-1.2 real seconds
PER_WORKER = 6
CLI = [sys.executable, "-c", "import sys; from flowapi.cli import main; sys.exit(main())"]


def _get(url: str, timeout: float = 10.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # loopback only
        data: dict[str, Any] = json.loads(resp.read())
    return data


def _post(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:  # loopback only
        data: dict[str, Any] = json.loads(resp.read())
    return data


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class App:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[Any]]]:
    started: list[subprocess.Popen[Any]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def _start_fake(procs: list[subprocess.Popen[Any]]) -> tuple[str, str]:
    """A fake-server subprocess: ``(base_url, admin state URL)``."""
    proc = subprocess.Popen([*CLI, "fake-server", "--port", "0", "--time-scale",
                             str(TIME_SCALE), "--seed", "11", "--token", TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "FakeFlowServer" in line, line
    base_url = line.rsplit(" at ", 1)[1].strip()
    return base_url, base_url.split("/v1/")[0] + "/_fake/state"


def _start_app(procs: list[subprocess.Popen[Any]], name: str, port: int, public_url: str,
               env: dict[str, str], log: Path) -> App:
    env = {**env, "PUBLIC_URL": public_url}
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "examples.webhook_fastapi_workers:app",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--no-access-log"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    procs.append(proc)
    return App(name, f"http://127.0.0.1:{port}", proc, log)


def _wait_ready(app: App, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``/healthz`` until the app answers (the only real-time waiting here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.proc.poll() is not None:
            raise AssertionError(f"app {app.name} exited:\n{app.output()}")
        try:
            health = _get(app.url + "/healthz", timeout=2)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
            continue
        if health["watcher"] is not None:
            return health
        time.sleep(0.05)
    raise AssertionError(f"app {app.name} not ready after {timeout}s:\n{app.output()}")


def test_each_request_awaits_a_job_whose_callback_lands_on_the_other_worker(
        postgres_dsn: str, procs: list[subprocess.Popen[Any]], tmp_path: Path) -> None:
    base_url, admin = _start_fake(procs)
    port_a, port_b = _free_port(), _free_port()
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    sep = "&" if "?" in postgres_dsn else "?"
    env = {**os.environ, "FLOWAPI_JOURNAL": f"{postgres_dsn}{sep}namespace=webapp",
           "FLOWAPI_WEBHOOK_TOKEN": "shared-" + uuid.uuid4().hex,
           "USEAPI_TOKEN": TOKEN, "FLOWAPI_BASE_URL": base_url,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    # crossed on purpose: the API calls A's jobs back at B, and B's at A
    a = _start_app(procs, "A", port_a, url_b, env, tmp_path / "a.log")
    b = _start_app(procs, "B", port_b, url_a, env, tmp_path / "b.log")
    pid = {a.name: _wait_ready(a)["worker"], b.name: _wait_ready(b)["worker"]}
    assert pid[a.name] == a.proc.pid and pid[b.name] == b.proc.pid

    sent = [(app, f"{app.name} prompt {i}") for app in (a, b) for i in range(PER_WORKER)]
    with ThreadPoolExecutor(len(sent)) as pool:
        answers = list(pool.map(
            lambda item: _post(item[0].url + "/generate", {"prompt": item[1]}, timeout=90),
            sent))

    state = _get(admin)
    jobs: dict[str, dict[str, Any]] = state["jobs"]
    for (app, prompt), answer in zip(sent, answers, strict=True):
        assert answer["prompt"] == prompt, answer
        assert answer["status"] == "succeeded", answer
        assert answer["worker"] == pid[app.name], (app.name, answer)
        job = jobs[answer["jobid"]]
        assert job["request"]["prompt"] == prompt  # its own job, not another request's
        assert answer["media"] and all(isinstance(u, str) and u for u in answer["media"])
        # the job's callback URL is the *other* worker's receiver
        other = b if app is a else a
        assert urlsplit(job["reply_url"]).port == urlsplit(other.url).port
    assert len({answer["jobid"] for answer in answers}) == len(sent)

    # ground truth: each prompt created once; the outcomes came from callbacks (no reads)
    assert Counter(j["request"]["prompt"] for j in jobs.values()) == \
        {prompt: 1 for _, prompt in sent}
    routes = Counter(r["route"] for r in state["requests"])
    assert routes["POST videos"] == len(sent)
    read = Counter(unquote(r["path"]).rsplit("/", 1)[-1] for r in state["requests"]
                   if r["route"] == "GET jobs/{jobid}")
    assert not read, f"jobs read although their callbacks carried the outcome: {read}"

    # every final callback was delivered (200/202) to the worker that did NOT submit it
    finals = [w for w in state["webhooks"] if w["status"] in ("completed", "failed")]
    assert Counter(w["jobid"] for w in finals) == Counter(ans["jobid"] for ans in answers)
    submitted_by = {answer["jobid"]: app for (app, _), answer in zip(sent, answers,
                                                                   strict=True)}
    for w in finals:
        assert w["http_status"] in (200, 202), w
        assert urlsplit(w["url"]).port != urlsplit(submitted_by[w["jobid"]].url).port

    # each worker's receiver got only the other's jobs (unknown here: 202, recorded in the
    # journal) and each watcher took every outcome from a callback record another worker
    # recorded — the receiver journal write before the answer is what carried it
    for app in (a, b):
        health = _get(app.url + "/healthz")
        assert health["worker"] == pid[app.name]
        receiver, watcher = health["receiver"], health["watcher"]
        assert receiver["accepted"] == 0, (app.name, receiver)
        assert receiver["rejected"] == 0, (app.name, receiver)
        assert receiver["unknown"] == receiver["received"] >= PER_WORKER, (app.name, receiver)
        assert receiver["recorded"] == receiver["received"], (app.name, receiver)
        assert watcher["succeeded"] == PER_WORKER, (app.name, watcher)
        assert watcher["callback_outcomes"] == PER_WORKER, (app.name, watcher)
        assert watcher["polls"] == 0, (app.name, watcher)
