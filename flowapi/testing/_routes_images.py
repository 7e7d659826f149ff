"""``POST images`` (sync, 10–20 s) and ``POST images/upscale`` (sync, base64 JPEG).

Sources: post-images (Jan 2026 page + supplement §9: ``nano-banana-2-lite`` default,
aliases, ``reference_1..10``, ``character_1..7``, ``fifeUrl`` media) and
post-images-upscale (only ``nano-banana-pro``/``nano-banana-2`` images; others 429
``..._UPGRADEABLE``; ``4k`` needs a paid plan, else 403 ``captcha_quality:``).
"""

from __future__ import annotations

import base64

from aiohttp import web

from ._errors import ApiError
from ._generation import admit, deliver_job, echo, gated, note_fault
from ._http import DELIVERY, REC, WORLD, json_response, read_params, str_param
from ._jobs import create_job
from ._media import media_bytes
from ._resolve import resolve_refs
from ._util import iso, next_utc_midnight, retry_after_seconds
from ._validate import validate_image
from ._world import World

__all__ = ["ROUTES"]

_UPSCALABLE = frozenset({"nano-banana-pro", "nano-banana-2", "nano-banana-2-lite"})
"""Image models whose images upscale (api-update-2026-h2 §5.3: Lite too, Nov 2026)."""
_NAME_TYPE = {
    "nano-banana-2-lite": "HARBOR_SEAL",
    "nano-banana-2": "NARWHAL",
    "nano-banana-pro": "GEM_PIX_2",
}
_DIMS = {
    "landscape": (1376, 768), "16:9": (1376, 768), "portrait": (768, 1376), "9:16": (768, 1376),
    "1:1": (1024, 1024), "4:3": (1184, 880), "3:4": (880, 1184),
}  # fmt: skip


async def post_images(request: web.Request) -> web.StreamResponse:
    """``POST images``: route, create an image job, answer 200 after 10–20 simulated seconds."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    spec = validate_image(body)
    world.captcha.validate(body)
    refs = [(f"reference_{i}", v, "image") for i, v in spec.refs.items()]
    refs += [(f"character_{i}", v, "character") for i, v in spec.characters.items()]
    res = resolve_refs(world, refs, email=spec.email)
    n_images = len(spec.refs) + sum(len(c.images) for c in res.characters.values())
    if n_images > 10:
        raise ApiError.bad_request(
            f"Too many references: {n_images} (maximum 10 including character images)"
        )
    aspect = spec.aspect
    if aspect == "auto":
        first = next(iter(res.assets.values()), None)
        aspect = "portrait" if first is not None and first.height > first.width else "landscape"
    width, height = _DIMS.get(aspect, (1376, 768))

    rec = request[REC]
    async with gated(request):
        adm = admit(
            request, route="POST images", group="images", model=spec.model, email=spec.email,
            ref_email=res.email, body=body, job_type="image",
        )  # fmt: skip
        acct = adm.account
        meta = {
            "prompt": spec.prompt, "aspect": aspect, "captcha": adm.captcha,
            "echo": echo(body, acct.email), "model_name_type": _NAME_TYPE[spec.model],
            "image_inputs": [a.media_generation_id for a in res.assets.values()],
            "width": width, "height": height, "project_id": acct.project_id,
        }  # fmt: skip
        job = create_job(
            world, job_type="image", model=spec.model, email=acct.email, route="POST images",
            body=body, rec=rec, async_=False, duration_key="image", count=spec.count, meta=meta,
            failure=adm.outcome, remaining_credits=acct.credits or 0,
        )  # fmt: skip
    return await deliver_job(request, job, adm)


async def post_image_upscale(request: web.Request) -> web.StreamResponse:
    """``POST images/upscale``: ``{encodedImage, captcha}`` after 5–15 simulated seconds."""
    world: World = request.app[WORLD]
    body = await read_params(request)
    mgid = body.get("mediaGenerationId")
    if not mgid:
        raise ApiError.bad_request("mediaGenerationId is required")
    if not isinstance(mgid, str):
        raise ApiError.bad_request("mediaGenerationId must be a string")
    resolution = (str_param(body, "resolution") or "2k").lower()
    if resolution not in ("2k", "4k"):
        raise ApiError.bad_request(f"Invalid resolution '{resolution}'. Supported: 2k, 4k")
    world.captcha.validate(body)
    res = resolve_refs(world, [("mediaGenerationId", mgid, "image")], email=None)
    src = res.assets["mediaGenerationId"]
    async with gated(request):
        adm = admit(
            request, route="POST images/upscale", group="images", model=src.model, email=None,
            ref_email=res.email, body=body, job_type="image",
        )  # fmt: skip
        now = world.now()
        if src.model not in _UPSCALABLE:
            until = next_utc_midnight(now)
            err_body = {
                "error": {
                    "code": 429,
                    "message": "Resource has been exhausted (e.g. check quota).",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE",
                            "metadata": {"canUpgradeForQuota": "true"},
                        }
                    ],
                },
                "captcha": adm.captcha,
                "retryAfter": iso(until),
            }
            raise ApiError(
                429, err_body, headers={"Retry-After": str(retry_after_seconds(until, now))}
            )
        if resolution == "4k" and adm.account.plan == "free":
            raise ApiError(
                403,
                {"error": "captcha_quality: PUBLIC_ERROR_UNUSUAL_ACTIVITY", "captcha": adm.captcha},
            )
    if adm.delivery is not None:
        note_fault(request, adm.delivery.kind)
        request[DELIVERY] = adm.delivery
    await world.clock.sleep(world.rng.uniform(5.0, 15.0))
    return json_response(
        {"encodedImage": base64.b64encode(media_bytes("jpg")).decode(), "captcha": adm.captcha}
    )


ROUTES = [
    ("POST", "images", "POST images", post_images),
    ("POST", "images/upscale", "POST images/upscale", post_image_upscale),
]
"""(method, path under the base URL, route template, handler)."""
