"""``GET jobs`` (load-balancing statistics) and ``GET jobs/{jobid}`` (the job record).

Sources: get-jobs (docs bundle; ``options=summary|executing|history``, 400 on others),
get-jobs-jobid (400 ``Invalid job ID format``, 403 other user, 404 ``Job not found``) and
supplement §5 (current record shape; 410 ``{"error":"Job has expired","code":410}`` after
7 days).
"""

from __future__ import annotations

import re

from aiohttp import web

from ._errors import ApiError
from ._http import REC, WORLD, json_response
from ._payloads import job_record
from ._world import World

__all__ = ["ROUTES"]

_JOBID = re.compile(r"^j\d{6,}[a-z]-u(\d+)-\S+$")


async def get_jobs(request: web.Request) -> web.StreamResponse:
    """``GET jobs?options=summary|executing|history`` (default ``summary``)."""
    world: World = request.app[WORLD]
    options = request.query.get("options", "summary") or "summary"
    if options not in ("summary", "executing", "history"):
        raise ApiError.bad_request("Invalid options parameter. Use: summary, executing, or history")
    emails = list(world.accounts.accounts)
    healthy = [a.email for a in world.accounts.healthy()]
    return json_response(world.stats.listing(options, emails, healthy, world.now()))


async def get_job(request: web.Request) -> web.StreamResponse:
    """``GET jobs/{jobid}``: the current job record (status computed from simulated time)."""
    world: World = request.app[WORLD]
    jobid = request.match_info["jobid"]
    m = _JOBID.match(jobid)
    if m is None:
        raise ApiError.bad_request("Invalid job ID format")
    if int(m.group(1)) != world.uid:
        raise ApiError(403, {"error": "Access denied - job belongs to different user"})
    job = world.jobs.get(jobid)
    if job is None:
        raise ApiError.not_found("Job not found")
    rec = request[REC]
    rec.email, rec.model = job.email, job.model
    now = world.now()
    if now >= job.expires_at:
        raise ApiError(410, {"error": "Job has expired", "code": 410})
    return json_response(job_record(job, now, world.media))


ROUTES = [
    ("GET", "jobs", "GET jobs", get_jobs),
    ("GET", "jobs/", "GET jobs", get_jobs),
    ("GET", "jobs/{jobid}", "GET jobs/{jobid}", get_job),
]
"""(method, path under the base URL, route template, handler)."""
