"""The benchmark workload: N video jobs with real-looking durations.

The fake draws each job's duration from its model's range (simulated seconds):
``veo-3.1-lite-low-priority`` 50–100, ``veo-3.1-fast`` 60–120, ``veo-3.1-quality``
150–210 — the documented "60–180 seconds depending on the model". The mix is 5 % quality
(at most 100 jobs), 30 % fast (at most 1,000) and the rest low-priority, so the default
Ultra $200 account's 25,000 credits cover every N (quality costs 100, fast 10, low-priority
0 on Ultra). Images are synchronous-only in this API and are not part of the watcher runs.
"""

from __future__ import annotations

QUALITY = "veo-3.1-quality"
FAST = "veo-3.1-fast"
LOW = "veo-3.1-lite-low-priority"
_QUALITY_CAP = 100
_FAST_CAP = 1000


def models(n: int) -> list[str]:
    """The model of each of ``n`` jobs (deterministic)."""
    out: list[str] = []
    quality = fast = 0
    for i in range(n):
        slot = i % 20
        if slot == 0 and quality < _QUALITY_CAP:
            quality += 1
            out.append(QUALITY)
        elif 1 <= slot <= 6 and fast < _FAST_CAP:
            fast += 1
            out.append(FAST)
        else:
            out.append(LOW)
    return out


def prompt(i: int) -> str:
    """The unique prompt of job ``i`` (the fake's ground truth counts jobs per prompt)."""
    return f"benchmark job {i}: a red fox crossing a snowy field at dawn"


def body(i: int, model: str) -> dict[str, object]:
    """The raw ``POST /videos`` body of job ``i`` for the plain-aiohttp baselines."""
    return {"prompt": prompt(i), "model": model, "async": True}
