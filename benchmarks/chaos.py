"""Chaos: many prompts through mixed faults, a mid-run crash and a resume from the journal.

``python -m benchmarks.chaos`` (default 10,000 prompts) starts a fake in a separate process
(``python -m benchmarks.chaos --serve``: a :class:`~flowapi.testing.FakeFlowServer` with
several accounts that also records the ``replyRef`` of every generation POST it reads), runs
the ``flowapi batch`` machinery (:class:`~flowapi.cli._batch.BatchRunner`: journal,
watcher, downloads) on the fake's simulated clock, cancels it once ``--crash-at`` of the
prompts have finished (a crash: in-flight submits, polls and downloads are abandoned
mid-request), resumes with a new session and a new runner on the same journal (adopt /
reconcile / submit per journal row), and prints correctness counters computed from the
fake's ground truth (``GET /_fake/state``, ``GET /_chaos/markers``), not from what the
client believed:

``params_without_one_outcome``
    prompts that did not end with exactly one result (downloaded, or a reported failure).
``jobs_lost``
    jobs the fake completed that no result accounts for: media created (and paid for) that
    was neither downloaded nor reported under its job id — e.g. an ambiguous submit
    reported failed although the job existed and completed.
    (A job that *failed* server-side — no media — while its prompt was reported as an
    ambiguous submit is not lost but shown as ``failed_jobs_reported_ambiguous``: the API
    cannot look a job up by ``replyRef``, and the listing's history holds only the 10 most
    recent finished jobs, so a job that fails faster than the hung submit times out can
    drop out of reach. The prompt still has its one reported failure.)
``jobs_created_twice``
    extra jobs per ``replyRef`` marker (= per prompt; ``resubmit_moderated`` is off).
``requests_into_parked_lanes``
    generation requests that reached a lane after the client had received that lane's 429
    (finished time + ``--grace``, 10 real ms): the same account for THROTTLED/USER_QUOTA
    (30 min; the load balancer's own ``no_eligible_account`` too, until the first quarantine
    ends), the
    account × model for PER_MODEL_DAILY_QUOTA (until UTC midnight), the model for
    ``no_eligible_account`` (its Retry-After), the same marker for a low captcha score.
``nonretryable_retried``
    a generation POST sent again with the marker of an earlier ``Captcha service
    failed:`` 503, ``captcha_quality:`` 403 or 596 answer.
``succeeded_without_file``
    results reported succeeded whose video is missing or not the size downloaded.

Arrival times are the ground truth, so a violation that happens within the grace (e.g. a
burst of probes milliseconds after the 429) is invisible here; ``tests/test_reliability.py``
pins that case down with exact counts of 429s per quarantine.

The test suite runs the same harness in-process at a few hundred prompts
(``tests/test_chaos.py``); this module is the large-scale run (not a test: nothing is
asserted, the counters are printed and the exit status is 1 when one is non-zero).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from aiohttp import web

from flowapi import FlowSession, RetryBudget, Timeouts
from flowapi._clock import ScaledClock
from flowapi.cli._batch import JOURNAL_NAME, BatchOptions, BatchResult, BatchRunner
from flowapi.cli._prompts import parse_prompts
from flowapi.testing import FakeAccount, FakeFlowServer, parse_faults

__all__ = ["DEFAULT_FAULTS", "ChaosRun", "MarkerFake", "chaos_counters", "run_chaos"]

TOKEN = "user:1234-chaos-token-value"
ACCOUNTS = ("a.chaos@gmail.com", "b.chaos@gmail.com", "c.chaos@gmail.com",
            "d.chaos@gmail.com", "e.chaos@gmail.com", "f.chaos@gmail.com")
GEN_ROUTES = frozenset({"POST videos", "POST videos/extend", "POST videos/upscale",
                        "POST images", "POST images/upscale"})
NON_RETRYABLE = frozenset({"captcha_failed", "captcha_quality", "session_error"})

DEFAULT_FAULTS = ", ".join([
    "seed=11",
    "throttled:0.0005",
    "unavailable:0.01",
    "captcha_failed:0.002",
    "moderation:0.02",
    "poll_500:0.02",
    "reset_before:0.002@POST videos",
    "reset_after_create:0.003",
    "bad_json:0.002@POST videos",
    "truncated_media:0.01",
    "slow:0.001{delay=200}@POST videos",
    "slow:0.0005{delay=200}@GET jobs/{jobid}",
])
"""Rates for the 10,000-prompt run: every kind fires tens of times, rare enough that the
six accounts are not all quarantined at once for long."""


class MarkerFake(FakeFlowServer):
    """A :class:`FakeFlowServer` that also records the ``replyRef`` of every generation
    POST it reads (by request index), served at ``GET /_chaos/markers``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.markers: dict[int, str | None] = {}

    def _api_app(self) -> web.Application:
        from flowapi.testing._http import REC

        app = super()._api_app()

        @web.middleware
        async def record_marker(request: web.Request,
                                handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                                ) -> web.StreamResponse:
            rec = request.get(REC)
            if rec is not None and request.method == "POST" and rec.route in GEN_ROUTES:
                try:
                    body = json.loads(await request.read())
                except ValueError:
                    body = None
                marker = body.get("replyRef") if isinstance(body, dict) else None
                self.markers[rec.index] = marker if isinstance(marker, str) else None
            return await handler(request)

        async def markers(request: web.Request) -> web.Response:
            return web.json_response({str(k): v for k, v in self.markers.items()})

        app.middlewares.append(record_marker)
        app.router.add_get("/_chaos/markers", markers)
        return app


# -- the client: a batch, a crash, a resume ---------------------------------------------------

class _Sink:
    """A :class:`~flowapi.cli._batch.Reporter` that counts finished prompts."""

    def __init__(self, on_finish: Callable[[int], None] | None = None) -> None:
        self.finished_keys: dict[str, tuple[str, str | None]] = {}
        self.on_finish = on_finish

    def uploaded(self, path: Path, ok: bool) -> None:
        """Not used (the chaos prompts have no local files)."""

    def finished(self, result: BatchResult) -> None:
        self.finished_keys[result.spec.key] = (result.status, result.jobid)
        if self.on_finish is not None:
            self.on_finish(len(self.finished_keys))

    def notice(self, text: str) -> None:
        """Lines for the user are not shown in a benchmark."""

    def watching(self, watcher: Any) -> None:
        """Not used."""


@dataclass
class ChaosRun:
    """What the client did: results per prompt after the resume, and timings."""

    results: list[BatchResult]
    phase1: dict[str, tuple[str, str | None]]
    crashed: bool
    seconds: float
    phase1_seconds: float
    out_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)


async def run_chaos(base_url: str, token: str, clock: Any, n: int, out_dir: Path, *,
                    crash_at: float = 0.4, max_in_flight: int = 200,
                    read_timeout: float = 10.0, model: str = "veo-3.1-fast") -> ChaosRun:
    """Run ``n`` prompts as ``flowapi batch`` would, crash once ``crash_at`` of them have
    finished, resume from the journal with a new session and runner."""
    prompts = [{"prompt": f"chaos scene {i}", "model": model} for i in range(n)]
    specs = parse_prompts(json.dumps(prompts), base_dir=out_dir)
    options = BatchOptions(out_dir=out_dir, max_in_flight=max_in_flight, thumbnails=False)
    timeouts = Timeouts(read=read_timeout, download_read=read_timeout)
    start = time.monotonic()

    def session() -> FlowSession:
        return FlowSession(token, base_url=base_url, clock=clock, timeouts=timeouts,
                           retry_budget=RetryBudget(capacity=200, refill_per_second=20))

    crashed = False
    async with session() as flow:
        with anyio.CancelScope() as scope:
            def maybe_crash(done: int) -> None:
                if done >= crash_at * n:
                    scope.cancel()

            sink = _Sink(maybe_crash)
            await BatchRunner(flow, specs, options, sink).run()
        crashed = scope.cancel_called
    phase1_seconds = time.monotonic() - start
    async with session() as flow:
        results = await BatchRunner(flow, specs, options, _Sink()).run()
    return ChaosRun(results=results, phase1=sink.finished_keys, crashed=crashed,
                    seconds=time.monotonic() - start, phase1_seconds=phase1_seconds,
                    out_dir=out_dir)


# -- the counters, from ground truth ------------------------------------------------------------

def _markers_in_journal(path: Path) -> dict[str, str]:
    """replyRef marker → journal key, for every attempt the batch's journal recorded."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT key, markers FROM submissions").fetchall()
    finally:
        db.close()
    return {marker: key for key, markers in rows for marker in json.loads(markers)}


def _kinds(fault: str | None) -> set[str]:
    return set((fault or "").split("+")) - {""}


def _next_midnight(t: float) -> float:
    return (t // 86400 + 1) * 86400


def chaos_counters(state: dict[str, Any], markers: dict[int, str | None], run: ChaosRun, *,
                   grace: float, details: list[str] | None = None) -> dict[str, int]:
    """The correctness counters (module docstring) plus informational ones; ``details``
    (if given) receives one line per violation."""
    jobs: dict[str, dict[str, Any]] = state["jobs"]
    requests: list[dict[str, Any]] = state["requests"]
    final = {r.spec.key: r for r in run.results}
    out: dict[str, int] = {"params": len(run.results)}

    # exactly one outcome per params
    out["params_without_one_outcome"] = sum(
        1 for r in run.results if r.status not in ("succeeded", "failed"))
    out["succeeded_without_file"] = 0
    for r in run.results:
        if r.status == "succeeded":
            videos = [f for f in r.files if f.suffix == ".mp4"]
            if not videos or not all(f.is_file() and f.stat().st_size > 0 for f in videos):
                out["succeeded_without_file"] += 1
    # jobs: created twice, lost
    by_marker = Counter(j["reply_ref"] for j in jobs.values())
    out["jobs_created"] = len(jobs)
    out["jobs_created_twice"] = sum(c - 1 for m, c in by_marker.items() if c > 1)
    out["jobs_without_marker"] = by_marker.get(None, 0)
    lost = failed_unmatched = 0
    key_of_marker = _markers_in_journal(run.out_dir / JOURNAL_NAME)
    for jobid, job in jobs.items():
        result = final.get(key_of_marker.get(job["reply_ref"] or "", ""))
        if result is None or result.jobid != jobid:
            if (job["outcome"] == "failed" and result is not None
                    and result.status == "failed" and result.jobid is None
                    and result.category == "in_doubt"):
                failed_unmatched += 1
            else:
                lost += 1
    out["jobs_lost"] = lost
    out["failed_jobs_reported_ambiguous"] = failed_unmatched

    # requests into parked lanes
    gens = sorted((r for r in requests if r["route"] in GEN_ROUTES), key=lambda r: r["t"])
    times = [r["t"] for r in gens]
    # account quarantines (THROTTLED / USER_QUOTA: 30 min), for the load balancer's own
    # no_eligible_account answers (recorded without a fault kind and without an account)
    quarantines = [(r["t"], r["t"] + 1800) for r in gens if r["status"] == 429
                   and _kinds(r["fault"]) & {"throttled", "user_quota"}]
    bad: set[int] = set()
    out["no_eligible_from_load_balancer"] = 0
    for r in gens:
        if r["status"] != 429:
            continue
        kinds = _kinds(r["fault"])
        if not kinds and r["email"] is None:  # the load balancer: every account quarantined
            kinds = {"no_eligible"}
            out["no_eligible_from_load_balancer"] += 1
        start = (r["finished_t"] or r["t"]) + grace

        def member(q: dict[str, Any], r: dict[str, Any] = r,
                   kinds: set[str] = kinds) -> bool:
            if kinds & {"throttled", "user_quota"}:
                return bool(q["email"] == r["email"])
            if "model_quota" in kinds:
                return bool(q["email"] == r["email"] and q["model"] == r["model"])
            if "no_eligible" in kinds:
                return bool(q["model"] == r["model"])
            if "low_score" in kinds:
                return markers.get(q["index"]) == markers.get(r["index"]) is not None
            if "quarantine" in kinds:  # a sticky 429: the request itself went in
                return False
            return False

        if kinds & {"throttled", "user_quota"}:
            until = r["t"] + 1800
        elif "model_quota" in kinds:
            until = _next_midnight(r["t"])
        elif "no_eligible" in kinds and not _kinds(r["fault"]):
            ends = [end for begin, end in quarantines if begin <= r["t"] < end]
            until = min(ends) if ends else r["t"] + 60
        elif kinds & {"no_eligible", "low_score"}:
            until = r["t"] + 60
        else:
            continue
        lo = bisect.bisect_right(times, start)
        hi = bisect.bisect_left(times, until)
        for q in gens[lo:hi]:
            if q["index"] != r["index"] and member(q) and q["index"] not in bad:
                bad.add(q["index"])
                if details is not None:
                    details.append(
                        f"request #{q['index']} ({q['route']} → {q['status']} "
                        f"{q['fault']}, {q['email']}, {q['model']}, marker "
                        f"{markers.get(q['index'])}) arrived {q['t'] - r['finished_t']:.3f} "
                        f"simulated s after 429 #{r['index']} ({r['fault'] or 'no_eligible'}"
                        f", {r['email']}) was answered; its lane was parked until "
                        f"{until - r['t']:.0f} s after it")
    out["requests_into_parked_lanes"] = len(bad)
    out["requests_flagged_into_quarantine"] = sum(1 for r in gens if r["into_quarantine"])

    # no second POST after a non-retryable answer, for the same marker
    retried = 0
    refused: dict[str, float] = {}
    for r in gens:
        marker = markers.get(r["index"])
        if marker is None:
            continue
        if marker in refused and r["t"] > refused[marker]:
            retried += 1
            if details is not None:
                details.append(f"request #{r['index']} resent marker {marker} after a "
                               "non-retryable answer")
        if _kinds(r["fault"]) & NON_RETRYABLE:
            refused.setdefault(marker, r["finished_t"] or r["t"])
    out["nonretryable_retried"] = retried

    # informational
    statuses = Counter(r.status for r in run.results)
    out["succeeded"] = statuses.get("succeeded", 0)
    out["failed"] = statuses.get("failed", 0)
    for name, needle in (("failed.moderated", "moderated"),
                         ("failed.captcha_service", "Captcha service failed"),
                         ("failed.ambiguous_not_found", "did not find it"),
                         ("failed.in_doubt", "in doubt"),
                         ("failed.download", "download failed"),
                         ("failed.unavailable", "Service temporarily unavailable")):
        out[name] = sum(1 for r in run.results
                        if r.status == "failed" and needle in (r.error or ""))
    out["requests"] = len(requests)
    out["generation_posts"] = len(gens)
    out["http_429"] = sum(1 for r in gens if r["status"] == 429)
    for kind, count in sorted(state["counters"].items()):
        if kind.startswith("fault.") and count:
            out[kind] = count
    out["adopted_after_reset_after_create"] = sum(
        1 for j in jobs.values() if j["connection_reset_after_create"]
        and final.get(key_of_marker.get(j["reply_ref"] or "", "")) is not None
        and final[key_of_marker[j["reply_ref"]]].jobid == j["jobid"])
    out["finished_before_crash"] = len(run.phase1)
    return out


CORRECTNESS = ("params_without_one_outcome", "jobs_lost", "jobs_created_twice",
               "requests_into_parked_lanes", "nonretryable_retried", "succeeded_without_file")


# -- the standalone fake and the benchmark entry point --------------------------------------------

async def _serve(args: argparse.Namespace) -> None:
    faults = parse_faults(args.faults) if args.faults else None
    # enough credits that the load balancer's uneven spread never runs one dry (402)
    accounts = [FakeAccount(email=e, credits=10_000_000) for e in ACCOUNTS[:args.accounts]]
    async with MarkerFake(token=TOKEN, time_scale=args.time_scale, anchor=args.anchor,
                          seed=args.seed, accounts=accounts, faults=faults,
                          port=args.port) as fake:
        print(f"MarkerFake at {fake.base_url}", flush=True)
        await asyncio.Event().wait()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=600) as resp:  # loopback admin route
        return json.loads(resp.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="prompts (default 10000)")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help="fault spec of the fake")
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="real seconds per simulated second (default 0.05)")
    parser.add_argument("--accounts", type=int, default=6, help="accounts in the fake (≤ 6)")
    parser.add_argument("--max-in-flight", type=int, default=500)
    parser.add_argument("--crash-at", type=float, default=0.4,
                        help="fraction of prompts finished when the client crashes")
    parser.add_argument("--read-timeout", type=float, default=1.5,
                        help="client idle-read timeout, real seconds (default 1.5 = 30 "
                             "simulated seconds at the default time scale)")
    parser.add_argument("--grace", type=float, default=0.01,
                        help="real seconds a request may have been on the wire when a 429 "
                             "came back (default 0.01)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="output dir (default: temp)")
    parser.add_argument("--json", action="store_true", help="print the counters as JSON only")
    parser.add_argument("--dump-state", type=Path, default=None,
                        help="also write the fake's ground truth (state + markers) here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--anchor", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
        return 0

    anchor = time.time()
    cmd = [sys.executable, "-m", "benchmarks.chaos", "--serve", "--time-scale",
           repr(args.time_scale), "--anchor", repr(anchor), "--accounts", str(args.accounts),
           "--faults", args.faults, "--seed", str(args.seed)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=root)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if " at http" not in line:
            raise RuntimeError(f"the fake did not start: {line!r}")
        base_url = line.split(" at ", 1)[1].strip()
        admin = base_url.split("/v1/", 1)[0]
        out = args.out or Path(tempfile.mkdtemp(prefix="flowapi-chaos-"))
        clock = ScaledClock(args.time_scale, anchor=anchor)
        run = anyio.run(lambda: run_chaos(base_url, TOKEN, clock, args.n, out,
                                          crash_at=args.crash_at,
                                          max_in_flight=args.max_in_flight,
                                          read_timeout=args.read_timeout))
        state = _get_json(admin + "/_fake/state")
        markers = {int(k): v for k, v in _get_json(admin + "/_chaos/markers").items()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if args.dump_state is not None:
        args.dump_state.write_text(json.dumps({"state": state, "markers": markers}))
    details: list[str] = []
    counters = chaos_counters(state, markers, run, grace=args.grace / args.time_scale,
                              details=details)
    counters["crashed_mid_run"] = int(run.crashed)
    if args.json:
        print(json.dumps(counters))
    else:
        print(f"flowapi chaos: {args.n} prompts, {args.accounts} accounts, time scale "
              f"{args.time_scale}, crash at {args.crash_at:.0%}, wall {run.seconds:.1f} s "
              f"(crash after {run.phase1_seconds:.1f} s); faults: {args.faults}")
        print(f"output: {out}")
        width = max(len(k) for k in counters)
        print("correctness (must be 0):")
        for key in CORRECTNESS:
            print(f"  {key:<{width}}  {counters[key]}")
        for line in details[:20]:
            print(f"    {line}")
        print("what happened:")
        for key, value in counters.items():
            if key not in CORRECTNESS:
                print(f"  {key:<{width}}  {value}")
    return 1 if any(counters[k] for k in CORRECTNESS) else 0


if __name__ == "__main__":
    sys.exit(main())
