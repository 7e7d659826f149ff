"""Decode micro-benchmark: msgspec models (cached decoders) vs ``json.loads`` + dicts.

Payloads are the real job bodies of the docs (``tests/fixtures/spec/``): job records
(``GET /jobs/{jobid}``: video with ``media[]``, legacy ``operations[]``, image, failed) and
the ``GET /jobs?options=executing`` listing, plus a listing with 1,000 executing jobs built
from the docs' entry. "Work" is what the watcher does with a body: for a job record read
``status`` and the first media URL; for a listing collect the executing job ids.

Run alone: ``python -m benchmarks.decode``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowapi.types._base import decode
from flowapi.types.jobs import Job, JobsStats
from flowapi.watch._sources import Listing

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "spec"

JOB_FIXTURES = (
    "get-jobs-jobid__200__video-completed-media.json",
    "get-jobs-jobid__200__video-completed-operations.json",
    "get-jobs-jobid__200__image-completed.json",
    "get-jobs-jobid__200__image-failed.json",
)
LISTING_FIXTURE = "get-jobs__200__executing.json"


def _load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _big_listing(n: int) -> bytes:
    data = json.loads(_load(LISTING_FIXTURE))
    group = next(g for g in (data.get("videos"), data.get("images")) if g and g.get("executing"))
    template = next(iter(group["executing"].values()))
    group["executing"] = {
        f"j{1731859234567 + i}v-u12345-email:jo***@gmail.com-bot:google-flow": template
        for i in range(n)
    }
    return json.dumps(data).encode()


def _time(fn: Callable[[], object], budget: float = 0.3) -> float:
    """Microseconds per call (best of 5 batches)."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt > budget / 5:
            break
        n *= 2
    best = dt
    for _ in range(4):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - t)
    return best / n * 1e6


def _job_msgspec(raw: bytes) -> object:
    job = decode(Job, raw)
    media = job.media
    return job.status, media[0].url if media else None


def _job_json(raw: bytes) -> object:
    """The same reading with plain dicts (every shape the model unifies)."""
    job = json.loads(raw)
    resp = job.get("response") or {}
    url = None
    for item in resp.get("media") or []:
        url = (item.get("videoUrl") or item.get("imageUrl")
               or ((item.get("image") or {}).get("generatedImage") or {}).get("fifeUrl"))
        break
    for op in resp.get("operations") or []:
        url = url or (op.get("video") or {}).get("fifeUrl")
        break
    return job.get("status"), url


def _listing_full(raw: bytes) -> object:
    return decode(JobsStats, raw).executing_jobids()


def _listing_lean(raw: bytes) -> object:
    listing = decode(Listing, raw)
    ids: set[str] = set()
    for g in (listing.videos, listing.images, listing.combined):
        if g is not None and g.executing:
            ids.update(g.executing)
    return ids


def _listing_json(raw: bytes) -> object:
    data = json.loads(raw)
    ids: set[str] = set()
    for name in ("videos", "images", "combined"):
        g = data.get(name) or {}
        ids.update(g.get("executing") or {})
    return ids


def run() -> list[dict[str, Any]]:
    """Rows: payload, bytes, µs per decode for each method, speed-up of msgspec."""
    rows: list[dict[str, Any]] = []
    for name in JOB_FIXTURES:
        raw = _load(name)
        m = _time(lambda raw=raw: _job_msgspec(raw))
        j = _time(lambda raw=raw: _job_json(raw))
        rows.append({"payload": name.removesuffix(".json"), "bytes": len(raw),
                     "msgspec_us": m, "json_us": j, "lean_us": None})
    for label, raw in ((LISTING_FIXTURE.removesuffix(".json"), _load(LISTING_FIXTURE)),
                       ("listing with 1,000 executing jobs", _big_listing(1000)),
                       ("listing with 10,000 executing jobs", _big_listing(10_000))):
        m = _time(lambda raw=raw: _listing_full(raw))
        lean = _time(lambda raw=raw: _listing_lean(raw))
        j = _time(lambda raw=raw: _listing_json(raw))
        rows.append({"payload": label, "bytes": len(raw), "msgspec_us": m, "json_us": j,
                     "lean_us": lean})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    out = ["| payload | bytes | msgspec model µs | watcher's lean listing µs | json + dicts µs "
           "| json / msgspec |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        best = min(x for x in (r["msgspec_us"], r["lean_us"]) if x is not None)
        lean = f"{r['lean_us']:.1f}" if r["lean_us"] is not None else "–"
        out.append(f"| {r['payload']} | {r['bytes']:,} | {r['msgspec_us']:.1f} | {lean} | "
                   f"{r['json_us']:.1f} | {r['json_us'] / best:.1f}× |")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(run()))
