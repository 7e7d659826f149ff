"""``flowapi batch`` killed at pseudo-random points while its prompts file is edited between
runs (issue 8, "What must exist" §7).

A standalone ``flowapi fake-server`` subprocess and ``flowapi batch`` subprocesses on its
simulated clock (the harness of ``tests/test_resume.py``). Each run is SIGKILLed at a
seeded pseudo-random point (after a few more jobs were created, while a submit is on the
wire, during downloads, or after a random delay); between runs the prompts file is edited
— reordered, one entry inserted, one deleted, one changed — and a last run goes to the
end. From the fake's ground truth (``GET /_fake/state``) and the journal:

* each distinct prompt content was created at most once (an in-doubt one may be missing,
  never twice), so no edit made an unchanged entry look new;
* every job the fake created is accounted for in the journal: a row holds its jobid, or
  (a kill while its submit was on the wire, then the entry edited away) one of its
  attempts' markers — and the rows that match no prompt any more are reported;
* every entry of the final file has a finished row whose job, if any, carries its prompt;
* one more run sends nothing.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import flowapi
from tests.test_resume import CLI, TIME_SCALE, TOKEN, Fake, batch, kill_when

MODEL = "veo-3.1-fast"
EDITS = ("reorder", "insert", "delete", "change")
Condition = Callable[[dict[str, Any]], bool]


@pytest.fixture
def fake_server_proc() -> Iterator[Callable[[str], Fake]]:
    """Start ``flowapi fake-server`` subprocesses (killed at teardown)."""
    import subprocess

    procs: list[subprocess.Popen[str]] = []

    def start(faults: str) -> Fake:
        anchor = time.time()
        args = [*CLI, "fake-server", "--port", "0", "--time-scale", str(TIME_SCALE),
                "--anchor", repr(anchor), "--seed", "8", "--token", TOKEN, "--faults", faults]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "FakeFlowServer" in line, line
        base_url = line.rsplit(" at ", 1)[1].strip()
        return Fake(proc, base_url, base_url.split("/v1/")[0] + "/_fake/state", anchor)

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def edit(prompts: list[dict[str, Any]], kind: str, rng: random.Random,
         serial: int) -> list[dict[str, Any]]:
    """The prompts file after one edit of ``kind`` (``serial`` makes new texts unique)."""
    out = list(prompts)
    if kind == "reorder":
        while out == prompts:
            rng.shuffle(out)
    elif kind == "insert":
        out.insert(rng.randrange(len(out) + 1),
                   {"prompt": f"inserted scene {serial}", "model": MODEL})
    elif kind == "delete":
        del out[rng.randrange(len(out))]
    else:
        i = rng.randrange(len(out))
        out[i] = {**out[i], "prompt": f"{out[i]['prompt']} (changed {serial})"}
    return out


def kill_point(rng: random.Random, fake: Fake) -> tuple[str, Condition]:
    """A seeded pseudo-random moment to SIGKILL the run at."""
    before = fake.state()
    jobs, media = len(before["jobs"]), sum(
        1 for r in before["requests"] if r["route"] == "GET media")
    kind = rng.choice(["created", "created", "on_the_wire", "downloads", "delay"])
    if kind == "created":
        n = jobs + rng.randint(1, 3)
        return f"{kind}({n})", lambda s: len(s["jobs"]) >= n
    if kind == "on_the_wire":
        return kind, lambda s: any(r["route"] == "POST videos" and r["job_id"]
                                   and r["status"] is None for r in s["requests"])
    if kind == "downloads":
        n = media + rng.randint(1, 4)
        return f"{kind}({n})", lambda s: sum(
            1 for r in s["requests"] if r["route"] == "GET media") >= n
    at = time.monotonic() + rng.uniform(0.8, 3.0)  # CLI start-up is ~0.5-1 s of it
    return kind, lambda s: time.monotonic() >= at


async def _rows(path: Path) -> list[flowapi.Submission]:
    journal = flowapi.SqliteJournal(path)
    try:
        return await journal.rows()
    finally:
        await journal.close()


def prompt_of(row: flowapi.Submission) -> str:
    return str(json.loads(row.params)["prompt"])


@pytest.mark.parametrize("seed", [2, 8])
def test_kill_and_edit_between_runs_pays_each_content_once(
        seed: int, fake_server_proc: Callable[[str], Fake], tmp_path: Path) -> None:
    rng = random.Random(seed)
    # a few submits stay on the wire for a while (kills there leave them in doubt); some
    # jobs are moderated (recorded as failed, never resubmitted without --retry-failed)
    fake = fake_server_proc("seed=8, moderation:0.1, slow{delay=150;after=2;count=3}@POST videos")
    prompts_path, out = tmp_path / "prompts.json", tmp_path / "out"
    prompts = [{"prompt": f"kill-edit scene {i}", "model": MODEL} for i in range(8)]
    prompts_path.write_text(json.dumps(prompts))
    edits = list(EDITS)
    rng.shuffle(edits)
    logs: list[Path] = []
    history: list[str] = []
    for serial, kind in enumerate(edits, start=1):
        log = tmp_path / f"run{serial}.log"
        logs.append(log)
        label, cond = kill_point(rng, fake)
        proc = batch(fake, prompts_path, out, log)
        killed = kill_when(proc, fake, cond, timeout=40)
        history.append(f"run {serial}: kill at {label} → {'killed' if killed else 'ended'}; "
                       f"then {kind}")
        prompts = edit(prompts, kind, rng, serial)
        prompts_path.write_text(json.dumps(prompts))
    final_log = tmp_path / "final.log"
    code = batch(fake, prompts_path, out, final_log).wait(timeout=120)
    output = " ".join(final_log.read_text(errors="replace").split())
    context = "\n".join(history) + "\n" + final_log.read_text(errors="replace")
    assert code in (0, 1), context

    state = fake.state()
    jobs: dict[str, dict[str, Any]] = state["jobs"]
    rows = anyio.run(_rows, out / "flowapi-journal.sqlite")
    # each distinct prompt content was created at most once
    per_prompt = Counter(j["request"]["prompt"] for j in jobs.values())
    assert set(per_prompt.values()) <= {1}, (per_prompt, context)
    # one row per content; every created job is accounted for in the journal
    assert len({r.key for r in rows}) == len(rows)
    by_jobid = {r.jobid: r for r in rows if r.jobid}
    assert len(by_jobid) == len([r for r in rows if r.jobid])  # a jobid names one row
    by_marker = {m: r for r in rows for m in r.markers}
    for jobid, job in jobs.items():
        marker = (job["reply_ref"] or "").split(";", 1)[0]
        row = by_jobid.get(jobid) or by_marker.get(marker)
        assert row is not None, (f"job {jobid} ({job['request']['prompt']!r}) is in no "
                                 f"journal row", context)
        assert prompt_of(row) == job["request"]["prompt"], (row, job, context)
    # every entry of the final file has a finished row; its job (if any) is its own
    rows_by_prompt = {prompt_of(r): r for r in rows}
    final = [p["prompt"] for p in prompts]
    for text in final:
        row = rows_by_prompt[text]
        assert row.state.finished, (row, context)
        if row.state is flowapi.SubmissionState.SUCCEEDED:
            assert row.jobid is not None and jobs[row.jobid]["outcome"] == "completed"
        elif row.category is not flowapi.FailureCategory.IN_DOUBT:
            assert per_prompt[text] <= 1
    # rows that match no prompt any more are reported by the run, not dropped silently
    orphans = [r for r in rows if prompt_of(r) not in final]
    assert orphans, context  # a delete and a change happened
    assert "match no prompt" in output, context
    # one more run sends nothing
    before = fake.state()
    again = batch(fake, prompts_path, out, tmp_path / "again.log").wait(timeout=120)
    assert again == code, (tmp_path / "again.log").read_text()
    after = fake.state()
    assert after["jobs"].keys() == before["jobs"].keys()
    assert not [r for r in after["requests"][len(before["requests"]):]
                if r["method"] == "POST"]
