"""Many workers, one PostgreSQL journal (issue 9): K worker processes each submit the same
N keys through ``flow.watch(journal=PostgresJournal(dsn, namespace=…))`` and split the
work; every worker yields every outcome.

    .venv/bin/python -m benchmarks.workers --n 10000 --workers 1 3 --time-scale 0.2

Per K: one fresh ``flowapi fake-server`` subprocess (``benchmarks/_fake.py``), one fresh
PostgreSQL database and namespace, then K worker processes started together, each running
the same watcher (listing mode, the default ``PostgresJournal`` options: ``lease=30``,
``resync_interval=10``, on the fake's simulated clock) over keys ``"0"`` … ``"N-1"``
(``benchmarks/_workload.py``: unique prompts, the mix of models of ``benchmarks.run``).
``max_in_flight=N`` for every worker and both K: a key another worker holds gives its slot
back, so no worker is ever held back by the slot limit and the 1-worker run is not
throttled either — the comparison measures the cooperation, not a slot cap.

Ground truth from the fake (``GET /_fake/state``): API requests per completed job by kind,
jobs created twice (per prompt; per ``replyRef`` marker), and per worker what it yielded
(lost keys, keys yielded twice, outcomes that disagree between workers), its CPU, peak
RSS and its own request count. PostgreSQL: ``FLOWAPI_TEST_POSTGRES`` if set, else a
throwaway loopback server (``scripts/postgres-test-server``: ``fsync=off``); transactions
of the run's database from ``pg_stat_database``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


# -- one worker process ------------------------------------------------------------------


async def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One worker: the watcher over every key; its outcomes and counters."""
    import anyio

    from flowapi import FlowSession, JobSucceeded, VideoParams
    from flowapi._clock import ScaledClock
    from flowapi.journal import PostgresJournal

    from . import _workload

    n: int = spec["n"]
    clock = ScaledClock(spec["time_scale"], anchor=spec["anchor"])
    models = _workload.models(n)
    params = [VideoParams(prompt=_workload.prompt(i), model=m) for i, m in enumerate(models)]
    outcomes: list[tuple[str, str | None, float, bool]] = []
    journal = PostgresJournal(spec["dsn"], namespace=spec["namespace"])
    async with FlowSession(spec["token"], base_url=spec["base_url"], clock=clock,
                           connection_limit=64) as flow:
        t_start = clock.time()
        async with flow.watch(max_in_flight=spec["max_in_flight"], mode="listing",
                              journal=journal) as watcher:
            async def feed() -> None:
                for i, p in enumerate(params):
                    await watcher.submit(p, key=str(i))
                watcher.close()

            async with anyio.create_task_group() as tg:
                tg.start_soon(feed)
                async for outcome in watcher:
                    outcomes.append((outcome.key, outcome.jobid, clock.time(),
                                     isinstance(outcome, JobSucceeded)))
            st = watcher.stats
            stats = {k: getattr(st, k) for k in (
                "submitted", "accepted", "succeeded", "failed", "resumed", "adopted_running",
                "polls", "listings", "listing_failures", "fallbacks", "backstops",
                "accounts_read", "adopted") if getattr(st, k, 0)}
        requests_sent = flow.transport.requests_sent
    return {"outcomes": outcomes, "t_start": t_start, "t_end": clock.time(),
            "stats": stats, "requests_sent": requests_sent, "worker": journal.worker}


def _vmhwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return math.nan


def worker_main(spec_json: str) -> None:
    """``python -m benchmarks.workers --worker SPEC``: one worker, one JSON line out."""
    spec = json.loads(spec_json)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    error = None
    result: dict[str, Any] = {}
    try:
        result = asyncio.run(_worker(spec))
    except Exception as exc:  # reported, not raised: the harness prints it
        error = f"{type(exc).__name__}: {exc}"
    result.update(cpu_s=time.process_time() - cpu0, wall_s=time.perf_counter() - wall0,
                  rss_peak_mb=_vmhwm_mb(), error=error)
    sys.stdout.write(json.dumps(result) + "\n")


# -- the harness ---------------------------------------------------------------------------


def run_k(srv: Any, n: int, k: int, time_scale: float, *, timeout: float) -> dict[str, Any]:
    """K workers on one fresh fake and one fresh database; the measured figures."""
    from . import _postgres
    from ._fake import TOKEN, FakeProcess

    anchor = time.time()
    with FakeProcess(time_scale, anchor) as fake, _postgres.fresh_database(srv) as dsn:
        spec = {"n": n, "time_scale": time_scale, "anchor": anchor, "dsn": dsn,
                "namespace": "bench-" + uuid.uuid4().hex[:10], "base_url": fake.base_url,
                "token": TOKEN, "max_in_flight": n}
        xact0 = _postgres.transactions(dsn)
        fake_cpu0 = fake.cpu_seconds()
        wall0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.workers", "--worker",
                                   json.dumps(spec)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=HERE.parent)
                 for _ in range(k)]
        results: list[dict[str, Any]] = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=max(1.0, timeout - (time.perf_counter()
                                                                      - wall0)))
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                results.append({"error": f"timed out after {timeout:.0f} s; "
                                         f"stderr: {err[-1500:]}"})
                continue
            lines = [ln for ln in out.splitlines() if ln.startswith("{")]
            if not lines:
                results.append({"error": f"worker exited {p.returncode}: {err[-1500:]}"})
                continue
            r = json.loads(lines[-1])
            if r.get("error"):
                r["error"] += f"; stderr: {err[-1500:]}"
            results.append(r)
        wall_real = time.perf_counter() - wall0
        fake_cpu = fake.cpu_seconds() - fake_cpu0
        time.sleep(0.5)  # the workers' backends exited and flushed their statistics
        xacts = _postgres.transactions(dsn) - xact0
        state = fake.state()
    out = analyse(results, state, n)
    out.update(k=k, n=n, time_scale=time_scale, wall_real_s=wall_real, fake_cpu_s=fake_cpu,
               pg_transactions=xacts, pg_transactions_per_job=xacts / max(out["completed"], 1))
    return out


def analyse(workers: list[dict[str, Any]], state: dict[str, Any], n: int) -> dict[str, Any]:
    """Figures of one run from the workers' outcomes and the fake's ground truth."""
    jobs: dict[str, Any] = state["jobs"]
    from ._fake import request_split, route_counts

    routes = route_counts(state)
    split = request_split(routes)
    submit, per_job, listing = split["submit"], split["per_job"], split["listing"]
    total, other = split["total"], split["other"]
    completed = sum(1 for j in jobs.values() if j.get("status") == "completed")
    failed_jobs = sum(1 for j in jobs.values() if j.get("status") == "failed")
    per_prompt = collections.Counter(j["request"].get("prompt") for j in jobs.values())
    markers = [j["request"].get("replyRef") or j["request"].get("reply_ref")
               for j in jobs.values()]
    per_marker = collections.Counter(m for m in markers if m)
    done = max(len({k for k in per_prompt if k}), 1)
    rows: list[dict[str, Any]] = []
    by_key: dict[str, set[tuple[str | None, bool]]] = collections.defaultdict(set)
    starts, ends = [], []
    for w in workers:
        if "outcomes" not in w:
            rows.append({"error": w.get("error")})
            continue
        seen = collections.Counter(o[0] for o in w["outcomes"])
        for key, jobid, _, ok in w["outcomes"]:
            by_key[key].add((jobid, ok))
        starts.append(w["t_start"])
        ends.append(max((o[2] for o in w["outcomes"]), default=w["t_start"]))
        rows.append({"yielded": len(seen), "lost": n - len(seen),
                     "yielded_twice": sum(c - 1 for c in seen.values() if c > 1),
                     "succeeded": sum(1 for o in w["outcomes"] if o[3]),
                     "cpu_s": w["cpu_s"], "wall_s": w["wall_s"],
                     "rss_peak_mb": w["rss_peak_mb"], "requests_sent": w["requests_sent"],
                     "stats": w["stats"], "error": w.get("error")})
    durations = [j["finished_at"] - j["created_at"] for j in jobs.values()
                 if j.get("finished_at")]
    created = [j["created_at"] for j in jobs.values()]
    t0 = min(starts, default=0.0)
    return {
        "completed": completed, "failed_jobs": failed_jobs, "server_jobs": len(jobs),
        "requests": {"total": total, "submit": submit, "per_job": per_job,
                     "listing": listing, "other": other,
                     "other_routes": {r: c for r, c in routes.items() if not (
                         r.startswith("POST videos") or r in ("GET jobs/{jobid}",
                                                              "GET jobs"))}},
        "req_per_job": total / done,
        "split_per_job": {"submit": submit / done, "per_job": per_job / done,
                          "listing": listing / done, "other": other / done},
        "created_twice": sum(c - 1 for c in per_prompt.values() if c > 1),
        "created_twice_marker": sum(c - 1 for c in per_marker.values() if c > 1),
        "jobs_with_marker": len(markers) - markers.count(None),
        "disagreeing_keys": sum(1 for v in by_key.values() if len(v) > 1),
        "workers": rows,
        "wall_sim": max(ends, default=t0) - t0,
        "submit_span_sim": (max(created) - t0) if created else 0.0,
        "longest_sim": max(durations, default=0.0),
    }


# -- report ----------------------------------------------------------------------------


def markdown(runs: list[dict[str, Any]]) -> str:
    """The runs as Markdown tables: requests, correctness, per worker."""
    out = ["| N | workers | time_scale | req/job | submit | GET job | listing | other "
           "| vs 1 worker | created twice (prompt / marker) | lost per worker "
           "| every worker yielded all | outcomes disagreeing | wall sim s (submits drained) "
           "| wall real s | PG transactions/job | fake CPU s |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|---|---:|---:|---:|"]
    base: dict[int, float] = {}
    for r in runs:
        if r["k"] == 1:
            base[r["n"]] = r["req_per_job"]
    for r in runs:
        s = r["split_per_job"]
        ref = base.get(r["n"])
        vs = f"{(r['req_per_job'] / ref - 1) * 100:+.2f} %" if ref else "–"
        ws = r["workers"]
        lost = " / ".join(str(w.get("lost", "?")) for w in ws)
        every = all(w.get("yielded") == r["n"] and not w.get("yielded_twice") for w in ws)
        out.append(
            f"| {r['n']:,} | {r['k']} | {r['time_scale']} | **{r['req_per_job']:.3f}** | "
            f"{s['submit']:.3f} | {s['per_job']:.3f} | {s['listing']:.4f} | "
            f"{s['other']:.4f} | {vs} | {r['created_twice']} / {r['created_twice_marker']} "
            f"| {lost} | {'yes' if every else 'NO'} | {r['disagreeing_keys']} | "
            f"{r['wall_sim']:.0f} ({r['submit_span_sim']:.0f}) | {r['wall_real_s']:.0f} | "
            f"{r['pg_transactions_per_job']:.1f} | {r['fake_cpu_s']:.1f} |")
    out += ["", "| N | workers | worker | yielded | submitted (its own keys) | its requests "
            "| listings | GETs (polls) | CPU s | peak RSS MB | wall real s | other stats |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        for i, w in enumerate(r["workers"]):
            if "yielded" not in w:
                out.append(f"| {r['n']:,} | {r['k']} | {i + 1} | error: {w.get('error')} "
                           "|" + " |" * 8)
                continue
            st = dict(w["stats"])
            sub, lst, polls = st.pop("submitted", 0), st.pop("listings", 0), st.pop("polls", 0)
            for k in ("accepted", "succeeded"):
                st.pop(k, None)
            rest = ", ".join(f"{k}={v}" for k, v in st.items())
            out.append(f"| {r['n']:,} | {r['k']} | {i + 1} | {w['yielded']:,} | {sub:,} | "
                       f"{w['requests_sent']:,} | {lst:,} | {polls:,} | {w['cpu_s']:.1f} | "
                       f"{w['rss_peak_mb']:.0f} | {w['wall_s']:.0f} | {rest} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """The harness (or, with ``--worker SPEC``, one worker)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker_main(argv[1])
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--time-scale", type=float, default=0.2,
                        help="real seconds per simulated second (fake and workers)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="real seconds a run may take")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    from . import _postgres

    load0 = os.getloadavg()
    runs = []
    with _postgres.server() as srv:
        settings = srv.settings()
        for k in args.workers:
            runs.append(run_k(srv, args.n, k, args.time_scale, timeout=args.timeout))
            print(f"# K={k} done", file=sys.stderr, flush=True)
    text = markdown(runs)
    load1 = os.getloadavg()
    origin = "started here" if srv.started_here else "FLOWAPI_TEST_POSTGRES"
    print(text)
    print(f"\n{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores; load average before {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; PostgreSQL "
          f"{settings['server_version']} ({origin}"
          f", fsync={settings['fsync']}, synchronous_commit={settings['synchronous_commit']})")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "load_before": load0,
                                         "load_after": load1, "postgres": settings},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
