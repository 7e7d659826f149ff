"""Job creation: ids, simulated timelines, outputs, and registration everywhere.

A job's timeline is fixed when it is created (seeded RNG): ``started_at`` is 1–5 s after
``created_at`` and ``finished_at`` is ``created_at`` + a duration drawn from the model's
range. Nothing runs while a job is in flight; its status is computed when read.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ._library import Asset, make_ref
from ._records import FakeJob, OutputMedia, RecordedRequest
from ._util import seeded_uuid
from ._world import World

__all__ = ["create_job", "new_jobid", "sample_seconds"]


def new_jobid(world: World, letter: str, email: str) -> str:
    """A fresh id ``j{MMDDHHMMSSmmm}{6 digits}{v|i}-u{uid}-email:{email}-bot:google-flow``."""
    d = datetime.fromtimestamp(world.now(), tz=UTC)
    stamp = d.strftime("%m%d%H%M%S") + f"{d.microsecond // 1000:03d}"
    while True:
        jid = (
            f"j{stamp}{world.rng.randrange(10**6):06d}{letter}-u{world.uid}"
            f"-email:{email}-bot:google-flow"
        )
        if jid not in world.jobs:
            return jid


def sample_seconds(world: World, key: str) -> float:
    """A simulated duration for ``key`` (a model, ``upscale``, ``upscale-4k`` or ``image``)."""
    lo, hi = world.image_seconds if key == "image" else world.video_seconds.get(key, (60.0, 120.0))
    return world.rng.uniform(lo, hi) if hi > lo else lo


def create_job(
    world: World,
    *,
    job_type: str,
    model: str,
    email: str,
    route: str,
    body: dict[str, Any],
    rec: RecordedRequest,
    async_: bool,
    duration_key: str,
    count: int,
    meta: dict[str, Any],
    failure: str | None = None,
    credits_spent: int = 0,
    remaining_credits: int = 0,
    output_names: list[str] | None = None,
    output_seconds: float = 8.0,
    fixed_seconds: float | None = None,
) -> FakeJob:
    """Create, register and schedule a job; returns it.

    Args:
        failure: ``None`` (completes), ``"moderation"`` or ``"job_error"`` (ends failed).
        output_names: fixed media ids for the outputs (upscale reuses ``{src}_upsampled``).
        output_seconds: duration of each output video, seconds.
        fixed_seconds: use this simulated duration instead of drawing one (cached upscales).
    """
    now = world.now()
    rng = world.rng
    duration = fixed_seconds if fixed_seconds is not None else sample_seconds(world, duration_key)
    start_delay = min(rng.uniform(1.0, 5.0), duration * 0.5)
    started = now + start_delay
    finished = now + duration
    outcome, reason, code = "completed", None, None
    if failure == "moderation":
        outcome, reason, code = "failed", "PUBLIC_ERROR_UNSAFE_GENERATION", 400
        finished = started + (finished - started) * rng.uniform(0.2, 0.6)
    elif failure == "job_error":
        outcome, reason, code = "failed", "INTERNAL", 500
        finished = started + (finished - started) * rng.uniform(0.2, 0.9)
    letter = "v" if job_type == "video" else "i"
    jobid = new_jobid(world, letter, email)
    base_seed = body.get("seed")
    outputs: list[OutputMedia] = []
    kind = "video" if job_type == "video" else "image"
    for i in range(count):
        name = output_names[i] if output_names else seeded_uuid(rng)
        seed = base_seed + i if isinstance(base_seed, int) else rng.randrange(1, 2**31)
        outputs.append(
            OutputMedia(
                name=name,
                media_generation_id=make_ref(world.uid, email, kind, name),
                seed=seed,
                workflow_id=seeded_uuid(rng),
            )
        )
    available = finished if outcome == "completed" else math.inf
    for out in outputs:
        world.media.register(out.name, available, aspect=str(meta.get("aspect", "landscape")),
                             seconds=output_seconds if kind == "video" else None)
        world.library.add_asset(
            Asset(
                media_generation_id=out.media_generation_id,
                kind=kind,
                email=email,
                name=out.name,
                width=meta.get("width", 1280),
                height=meta.get("height", 720),
                duration=output_seconds,
                content_type="video/mp4" if kind == "video" else "image/jpeg",
                origin=meta.get("origin", "generated"),
                model=model,
                aspect=meta.get("aspect", "landscape"),
                available_at=available,
                prompt=str(body.get("prompt", "")),
                seed=out.seed,
                created=now,
                project_id=str(meta.get("project_id") or ""),
            )
        )
    reply_url = body.get("replyUrl")
    reply_ref = body.get("replyRef")
    job = FakeJob(
        jobid=jobid,
        type=job_type,
        model=model,
        email=email,
        route=route,
        request=body,
        reply_url=reply_url if isinstance(reply_url, str) and reply_url else None,
        reply_ref=reply_ref if isinstance(reply_ref, str) else None,
        created_at=now,
        started_at=started,
        finished_at=finished,
        outcome=outcome,
        failure_reason=reason,
        failure_code=code,
        media_ids=[o.media_generation_id for o in outputs],
        submit_request_index=rec.index,
        async_=async_,
        count=count,
        credits_spent=credits_spent,
        remaining_credits=remaining_credits,
        outputs=outputs,
        meta=meta,
        clock=world.clock,
    )
    world.jobs[jobid] = job
    world.stats.add_job(job)
    world.bump("jobs_created")
    world.bump(f"jobs_created.{job_type}")
    rec.job_id = jobid
    if job.reply_url and world.webhooks is not None:
        world.webhooks.schedule(job)
    return job
