"""Issue 9 item 4: three ``flowapi batch --journal postgresql://…`` processes cooperate on
one prompts file against one ``flowapi fake-server``; one of them is ``kill -9``-ed
mid-run and the others finish its prompts.

Checked from the fake's ground truth (``GET /_fake/state``) and the files on disk: every
prompt created exactly once (one job per prompt, one per marker), every result file
present exactly once in ``--out``, no ``.part`` left, every surviving process exits 0 and
prints the same summary.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._mp4 import assert_valid_mp4

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

TOKEN = "user:1234-cooperate-s3cret-token"
TIME_SCALE = 0.01
#: The default lease (30 simulated seconds on the fake's clock, which the CLI follows)
#: lasts 5 real seconds at least (``MIN_REAL_LEASE``): a killed process's prompts are taken
#: over within seconds, and a busy CI machine's stalls are not mistaken for a death.
LEASE = 30
CLI = [sys.executable, "-c", "import sys; from flowapi.cli import main; sys.exit(main())"]


class Fake:
    def __init__(self, proc: subprocess.Popen[str], base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url
        self.admin = base_url.split("/v1/")[0] + "/_fake/state"

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.admin, timeout=10) as resp:  # loopback admin
            data: dict[str, Any] = json.loads(resp.read())
        return data


def start_fake(faults: str = "") -> Fake:
    args = [*CLI, "fake-server", "--port", "0", "--time-scale", str(TIME_SCALE), "--seed",
            "9", "--token", TOKEN]
    if faults:
        args += ["--faults", faults]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "FakeFlowServer" in line, line
    return Fake(proc, line.rsplit(" at ", 1)[1].strip())


@pytest.fixture
def fakes() -> Iterator[Callable[[str], Fake]]:
    started: list[Fake] = []

    def start(faults: str = "") -> Fake:
        started.append(start_fake(faults))
        return started[-1]

    yield start
    for fake in started:
        fake.proc.kill()
        fake.proc.wait(timeout=10)


def start_batch(fake: Fake, prompts: Path, out: Path, log: Path,
                journal: str) -> subprocess.Popen[bytes]:
    args = [*CLI, "batch", str(prompts), "--out", str(out), "--journal", journal,
            "--token", TOKEN, "--base-url", fake.base_url, "--max-in-flight", "4",
            "--lease", str(LEASE)]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)


def held_by(dsn: str, pid: int, states: tuple[str, ...]) -> list[str]:
    """Keys in ``states`` whose lease process ``pid`` holds."""
    import psycopg

    try:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                "SELECT key FROM flowapi_submissions WHERE owner LIKE %s AND "
                "state = ANY(%s)", (f"%:{pid}:%", list(states))).fetchall()
    except psycopg.errors.UndefinedTable:  # not created yet
        return []
    return [str(r[0]) for r in rows]


def summary_of(log: Path) -> str:
    """The summary a process printed: the table and the totals line (progress lines,
    notices and the per-process credits wording excluded)."""
    text = log.read_text(errors="replace")
    start = text.index("flowapi batch — ")
    lines = text[start:].splitlines()
    return "\n".join(line for line in lines if not line.startswith("credits:"))


#: When the victim is killed: what it holds then (its rows' states), and the fake's faults
#: that make that moment last. Except in "submit-on-the-wire" (where the POST has reached
#: the fake, which holds its answer back), the victim is killed while it holds no row in
#: ``submitting``: a kill in the few milliseconds between journaling an attempt and the
#: POST leaving the process leaves that prompt *in doubt* — honestly reported, never
#: resent blindly (DESIGN §7) — and is not what these cases are about.
MOMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "running": (("accepted",), ""),
    "submit-on-the-wire": (("submitting",), "slow{delay=20}@POST videos"),
    "downloading": (("succeeded",), "slow{delay=30}@GET media"),
}


@pytest.mark.parametrize("moment", [None, *MOMENTS], ids=["all-finish", *MOMENTS])
def test_three_processes_split_one_batch(fakes: Callable[[str], Fake], postgres_dsn: str,
                                         tmp_path: Path, moment: str | None) -> None:
    states, faults = MOMENTS[moment] if moment else ((), "")
    fake = fakes(faults)
    n = 18
    prompts = [{"prompt": f"cooperating scene {i}", "model": "veo-3.1-fast"}
               for i in range(n)]
    prompts_file = tmp_path / "prompts.json"
    prompts_file.write_text(json.dumps(prompts))
    out = tmp_path / "out"
    journal = postgres_dsn + "?namespace=coop"
    logs = [tmp_path / f"batch-{i}.log" for i in range(3)]
    procs = [start_batch(fake, prompts_file, out, log, journal) for log in logs]
    try:
        killed: int | None = None
        victim_keys: list[str] = []
        if moment:
            # the victim holds the leases of prompts in the chosen states — exactly what
            # the others must take over
            deadline = time.monotonic() + 60
            while not victim_keys:
                assert time.monotonic() < deadline, f"the victim never held {states}"
                assert all(p.poll() is None for p in procs), "a batch ended early"
                victim_keys = held_by(postgres_dsn, procs[1].pid, states)
                if "submitting" not in states and held_by(postgres_dsn, procs[1].pid,
                                                          ("submitting",)):
                    victim_keys = []  # an attempt may not have left yet: not now
                time.sleep(0.005)
            procs[1].send_signal(signal.SIGKILL)
            procs[1].wait(timeout=10)
            killed = 1
        codes = [p.wait(timeout=180) for i, p in enumerate(procs) if i != killed]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    outputs = [log.read_text(errors="replace") for log in logs]
    state = fake.state()
    jobs = state["jobs"]
    created = Counter(j["request"]["prompt"] for j in jobs.values())
    doubts = sorted({m for text in outputs for m in re.findall(r"marker (flowapi:\w+)", text)})
    assert codes == [0] * len(codes), (
        f"exit codes {codes}; in doubt: {doubts}; jobs with those markers: "
        f"{[j['request']['prompt'] for j in jobs.values() if j['reply_ref'] in doubts]}; "
        f"prompts never created: {sorted(p['prompt'] for p in prompts if not created[p['prompt']])}"
        f"; victim log tail: {outputs[1][-1500:] if moment else ''}")
    # every prompt created exactly once, one job per marker
    assert Counter(j["request"]["prompt"] for j in jobs.values()) == {
        p["prompt"]: 1 for p in prompts}, outputs
    assert set(Counter(j["reply_ref"] for j in jobs.values()).values()) == {1}
    # the victim's prompts were finished by the others (adopted, never resubmitted)
    if victim_keys:
        import psycopg

        with psycopg.connect(postgres_dsn) as conn:
            states = dict(conn.execute(
                "SELECT key, state FROM flowapi_submissions WHERE key = ANY(%s)",
                (victim_keys,)).fetchall())
        assert set(states.values()) == {"succeeded"}, states
    # every result file present exactly once
    for i in range(1, n + 1):  # files are named after the prompt's 1-based position
        videos = sorted(out.glob(f"{i:03d}-*.mp4"))
        assert len(videos) == 1, (i, videos)
        assert_valid_mp4(videos[0])
    assert len(list(out.glob("*.mp4"))) == n
    assert not list(out.glob(".*.part"))
    # each media file fetched once across all processes (the survivors may refetch only
    # what the killed one was downloading when it died)
    media = Counter(r["path"] for r in state["requests"] if r["route"] == "GET media")
    if not moment:
        assert set(media.values()) == {1}, media
    # the same summary from every surviving process
    summaries = {summary_of(log) for i, log in enumerate(logs) if i != killed}
    assert len(summaries) == 1, summaries
    assert f"{n}/{n} prompts succeeded" in next(iter(summaries))
    if not moment:  # a prompt another live process is submitting is never "in doubt"
        assert not any("in doubt" in text for text in outputs), outputs
    for text in outputs:
        assert TOKEN not in text
        assert not re.search(r"Traceback", text), text


def test_an_unreachable_journal_is_one_line_without_the_password(tmp_path: Path) -> None:
    """``--journal`` (or ``FLOWAPI_JOURNAL``) naming a server that is not there: one line
    saying what and why, the password nowhere, nothing uploaded or submitted."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://flow:pw-s3cret@127.0.0.1:{port}/db"
    prompts = tmp_path / "p.json"
    prompts.write_text('[{"prompt": "a fox"}]')
    common = [*CLI, "batch", str(prompts), "--out", str(tmp_path / "out"), "--token", TOKEN,
              "--base-url", "http://127.0.0.1:9/v1/google-flow/"]
    for args, env in (([*common, "--journal", url], {}),
                      (common, {"FLOWAPI_JOURNAL": url})):
        done = subprocess.run(args, capture_output=True, text=True, timeout=60,
                              env={**os.environ, **env})
        assert done.returncode != 0
        text = done.stdout + done.stderr
        assert "cannot use the PostgreSQL journal at postgresql://flow@127.0.0.1" in text
        assert "Connection refused" in text
        assert "pw-s3cret" not in text and "Traceback" not in text
