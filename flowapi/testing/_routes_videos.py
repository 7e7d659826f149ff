"""``POST videos``, ``POST videos/extend`` and ``POST videos/upscale`` (sync or async jobs).

Sources: post-videos (June 5, 2026), post-videos-extend (June 9, 2026), post-videos-upscale
(Jan 2026) with the supplement §10 deltas (upscale 200 carries ``operations[]`` and
``media[]``; extend/upscale 201 carry only ``response.captcha``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._accounts import FakeAccount, credits_for
from ._errors import ApiError
from ._generation import admit, deliver_job, echo, gated
from ._http import REC, WORLD, int_param, read_params, str_param
from ._jobs import create_job
from ._resolve import resolve_refs
from ._validate import OMNI_MODELS, VEO_MODELS, check_callbacks, validate_video
from ._world import World

__all__ = ["ROUTES"]

_DIMS = {
    "landscape": (1280, 720),
    "portrait": (720, 1280),
    "1:1": (960, 960),
    "4:3": (960, 720),
    "3:4": (720, 960),
}


_IMAGE_BUDGET = {"omni-flash": 7, "omni-flash-1.2": 10}
"""R2V images (``referenceImage_*`` + character images) per model; Veo 3, V2V 5."""
_UPSCALE_DIMS = {"720p": (1280, 720), "1080p": (1920, 1080), "4K": (3840, 2160)}
"""Landscape output size per upscale resolution (swapped for portrait sources)."""


def _plan_check(model: str, duration: int, count: int, *, v2v: bool = False,
                resolution: str = "720p") -> Any:
    def check(acct: FakeAccount) -> None:
        if acct.plan == "free" and model != "omni-flash-1.2":
            raise ApiError.payment_required()
        if acct.plan == "free" and duration > 10:
            raise ApiError.bad_request(
                f"Duration {duration}s needs a paid Google AI plan (free accounts: up to 10s)"
            )
        if model in VEO_MODELS and duration in (4, 6) and not acct.is_ultra:
            raise ApiError.bad_request(
                f"Duration {duration}s is available on Google AI Ultra plans only"
            )
        if model == "veo-3.1-lite-low-priority" and acct.plan != "ultra-200":
            raise ApiError(
                403,
                {
                    "error": "MODEL_ACCESS_DENIED: veo-3.1-lite-low-priority requires "
                    "Google AI Ultra $200"
                },
            )
        cost = credits_for(model, duration=duration, ultra=acct.is_ultra, v2v=v2v,
                           resolution=resolution) * count
        if cost > (acct.credits or 0):
            raise ApiError.payment_required()

    return check


def _charge(acct: FakeAccount, cost: int) -> int:
    acct.credits = (acct.credits or 0) - cost
    return acct.credits


async def post_videos(request: web.Request) -> web.StreamResponse:
    """``POST videos``: validate, route, create the job; 200 after the simulated duration or 201."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    spec = validate_video(body)
    world.captcha.validate(body)
    refs: list[tuple[str, str, str]] = []
    if spec.start:
        refs.append(("startImage", spec.start, "image"))
    if spec.end:
        refs.append(("endImage", spec.end, "image"))
    refs += [(f"referenceImage_{i}", v, "image") for i, v in spec.images.items()]
    refs += [(f"character_{i}", v, "character") for i, v in spec.characters.items()]
    refs += [(f"referenceAudio_{i}", v, "voice") for i, v in spec.audios.items()]
    if spec.video:
        refs.append(("referenceVideo_1", spec.video, "video"))
    res = resolve_refs(world, refs, email=spec.email)
    n_images = len(spec.images) + sum(len(c.images) for c in res.characters.values())
    budget = 5 if spec.mode == "v2v" else _IMAGE_BUDGET.get(spec.model, 3)
    if n_images > budget:
        raise ApiError.bad_request(
            f"Too many image references for {spec.model}: {n_images} "
            f"(referenceImage_* plus character images, maximum {budget})"
        )
    out_seconds = float(spec.duration or 8)
    if spec.mode == "v2v":
        src = res.assets["referenceVideo_1"]
        start = spec.start_frame or 0
        end = spec.end_frame or min(round(src.duration * 24), 240)
        if end <= start:
            raise ApiError.bad_request("endFrameIndex_1 must be greater than startFrameIndex_1")
        out_seconds = (end - start) / 24.0
    base = spec.start or next(iter(spec.images.values()), None) or spec.video or ""
    cost_duration = spec.duration or 8
    rec = request[REC]
    async with gated(request):
        adm = admit(
            request, route="POST videos", group="videos", model=spec.model, email=spec.email,
            ref_email=res.email, body=body,
            check=_plan_check(spec.model, cost_duration, spec.count, v2v=spec.mode == "v2v",
                              resolution=spec.resolution),
        )  # fmt: skip
        acct = adm.account
        cost = credits_for(
            spec.model, duration=cost_duration, ultra=acct.is_ultra, v2v=spec.mode == "v2v",
            resolution=spec.resolution or "720p",
        )
        cost *= spec.count
        width, height = _DIMS.get(spec.aspect, (1280, 720))
        family = {"omni-flash": "omni_flash", "omni-flash-1.2": "omni_flash_1_2"}
        internal = f"{family.get(spec.model, 'veo_3_1')}_{spec.mode}"
        meta = {
            "prompt": spec.prompt, "aspect": spec.aspect, "duration": round(out_seconds),
            "mode": spec.mode, "internal_model": internal, "base_image": base,
            "project_id": acct.project_id, "captcha": adm.captcha, "echo": echo(body, acct.email),
            "width": width, "height": height, "resolution": spec.resolution,
        }  # fmt: skip
        job = create_job(
            world, job_type="video", model=spec.model, email=acct.email, route="POST videos",
            body=body, rec=rec, async_=spec.async_, duration_key=spec.model, count=spec.count,
            meta=meta, failure=adm.outcome, credits_spent=cost,
            remaining_credits=_charge(acct, cost), output_seconds=out_seconds,
        )  # fmt: skip
    return await deliver_job(request, job, adm)


def _common(body: dict[str, Any]) -> tuple[str, bool]:
    mgid = str_param(body, "mediaGenerationId", required=True, with_code=True)
    assert mgid is not None
    async_ = body.get("async", False)
    if not isinstance(async_, bool):
        raise ApiError.bad_request("Parameter async must be a boolean", with_code=True)
    check_callbacks(body, with_code=True)
    return mgid, async_


async def post_extend(request: web.Request) -> web.StreamResponse:
    """``POST videos/extend``: a new ~8 s segment continuing a Veo-generated video, or —
    with ``model: "omni-flash-1.2"`` (api-update-2026-h2 §5.1, shape a reading) — up to 10 s
    (``duration`` 3–10, default 8) continuing any generated video."""
    world: World = request.app[WORLD]
    body = await read_params(request, with_code=True)
    mgid, async_ = _common(body)
    prompt = str_param(body, "prompt", required=True, with_code=True)
    model = str_param(body, "model", with_code=True) or "veo-3.1-fast"
    extenders = (*VEO_MODELS, "omni-flash-1.2")
    if model not in extenders:
        raise ApiError.bad_request(
            f"Invalid model '{model}'. Supported: {', '.join(extenders)}", with_code=True
        )
    seconds = 8
    if model == "omni-flash-1.2":
        seconds = int_param(body, "duration", lo=3, hi=10, default=8, with_code=True) or 8
    count = int_param(body, "count", lo=1, hi=4, default=1, with_code=True) or 1
    int_param(body, "seed", lo=0, hi=None, default=None, with_code=True)
    world.captcha.validate(body, with_code=True)
    res = resolve_refs(world, [("mediaGenerationId", mgid, "video")], email=None, with_code=True)
    src = res.assets["mediaGenerationId"]
    if src.model not in VEO_MODELS and not (model == "omni-flash-1.2" and src.origin != "upload"):
        raise ApiError.bad_request(
            "The source video must be Veo-generated; omni-flash videos and uploads cannot be "
            "extended (use omni-flash V2V edit via POST videos with referenceVideo_1)",
            with_code=True,
        )
    rec = request[REC]
    async with gated(request):
        adm = admit(
            request, route="POST videos/extend", group="videos", model=model, email=None,
            ref_email=res.email, body=body, check=_plan_check(model, seconds, count),
        )  # fmt: skip
        acct = adm.account
        cost = credits_for(model, duration=seconds, ultra=acct.is_ultra) * count
        meta = {
            "prompt": prompt, "aspect": src.aspect, "duration": seconds, "mode": "extend",
            "internal_model": "omni_flash_1_2_extend" if model == "omni-flash-1.2"
            else "veo_3_1_t2v", "base_image": mgid, "project_id": acct.project_id,
            "captcha": adm.captcha, "echo": echo(body, acct.email), "origin": "extended",
            "width": src.width, "height": src.height,
        }  # fmt: skip
        job = create_job(
            world, job_type="video", model=model, email=acct.email, route="POST videos/extend",
            body=body, rec=rec, async_=async_, duration_key=model, count=count, meta=meta,
            failure=adm.outcome, credits_spent=cost, remaining_credits=_charge(acct, cost),
            output_seconds=float(seconds),
        )  # fmt: skip
    return await deliver_job(request, job, adm)


async def post_video_upscale(request: web.Request) -> web.StreamResponse:
    """``POST videos/upscale``: 1080p (free), 4K (Ultra, 50 credits) or 720p (360p clips)."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    mgid, async_ = _common(body)
    resolution = str_param(body, "resolution") or "1080p"
    resolution = {"4k": "4K", "1080P": "1080p", "720P": "720p"}.get(resolution, resolution)
    if resolution not in ("1080p", "4K", "720p"):
        raise ApiError.bad_request(f"Invalid resolution '{resolution}'. Supported: 1080p, 4K, 720p")
    world.captcha.validate(body)
    res = resolve_refs(world, [("mediaGenerationId", mgid, "video")], email=None)
    src = res.assets["mediaGenerationId"]
    if src.origin == "upload":
        raise ApiError.bad_request("Only generated videos can be upscaled")
    if resolution == "720p" and src.model not in OMNI_MODELS:
        raise ApiError.bad_request(
            "720p upscaling is only available for Gemini Omni Flash clips (promotes 360p drafts)"
        )
    suffix = "_upsampled" if resolution == "1080p" else f"_upsampled_{resolution.lower()}"
    name = src.name + suffix
    cached = world.library.assets.get(name)
    is_cached = cached is not None and cached.available_at <= world.now()

    def check(acct: FakeAccount) -> None:
        if acct.plan == "free":
            raise ApiError.payment_required()
        if resolution == "4K" and not acct.is_ultra:
            raise ApiError.bad_request("4K upscaling requires a Google AI Ultra subscription")
        if resolution == "4K" and not is_cached and (acct.credits or 0) < 50:
            raise ApiError.payment_required()

    rec = request[REC]
    async with gated(request):
        adm = admit(
            request, route="POST videos/upscale", group="videos", model=src.model, email=None,
            ref_email=res.email, body=body, check=check,
        )  # fmt: skip
        acct = adm.account
        cost = 50 if resolution == "4K" and not is_cached else 0
        width, height = _UPSCALE_DIMS[resolution]
        if src.height > src.width:
            width, height = height, width
        meta = {
            "prompt": src.prompt, "aspect": src.aspect, "duration": round(src.duration),
            "mode": "upscale", "internal_model": f"veo_3_1_upsampler_{resolution.lower()}",
            "base_image": mgid, "project_id": acct.project_id, "captcha": adm.captcha,
            "echo": echo(body, acct.email), "origin": "upscaled", "resolution": resolution,
            "width": width, "height": height,
        }  # fmt: skip
        key = "upscale-4k" if resolution == "4K" else "upscale"
        job = create_job(
            world, job_type="video", model=src.model or "veo-3.1-fast", email=acct.email,
            route="POST videos/upscale", body=body, rec=rec, async_=async_, duration_key=key,
            count=1, meta=meta, failure=adm.outcome, credits_spent=cost,
            remaining_credits=_charge(acct, cost), output_names=[name],
            output_seconds=src.duration, fixed_seconds=3.0 if is_cached else None,
        )  # fmt: skip
    return await deliver_job(request, job, adm)


ROUTES = [
    ("POST", "videos", "POST videos", post_videos),
    ("POST", "videos/extend", "POST videos/extend", post_extend),
    ("POST", "videos/upscale", "POST videos/upscale", post_video_upscale),
]
"""(method, path under the base URL, route template, handler)."""
