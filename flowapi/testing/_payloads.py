"""Success bodies of generation endpoints and the job record, as the newest docs print them.

* ``media[]`` video items: post-videos (June 2026) "Model" / 200 example.
* image items: post-images 200 example (``image.generatedImage`` with ``fifeUrl``).
* job record: get-jobs-jobid (May 2026 shape, supplement §5): ``created``/``started``
  records carry the pending ``operations[]`` (POST videos) and the short ``captcha``;
  ``completed`` carries ``response.media[]``, ``remainingCredits``, ``captcha``;
  ``failed`` carries ``error``, ``errorDetails``, ``code`` and ``response.error``.
"""

from __future__ import annotations

from typing import Any

from ._errors import internal_error, unsafe_generation_error
from ._media import MediaOrigin
from ._records import FakeJob, OutputMedia
from ._util import iso, iso_micro

__all__ = [
    "IMAGE_ASPECT",
    "VIDEO_ASPECT",
    "image_item",
    "job_record",
    "short_captcha",
    "sync_body",
    "video_item",
]

URL_TTL_VIDEO = 6 * 3600.0
"""``videoUrl`` / ``thumbnailUrl`` validity, seconds: ~6 h (useapi's scripts and
api-update-2026-h2 §1 [R]; the older "~24h" was a secondary source)."""
URL_TTL_OTHER = 6 * 3600.0
"""Other signed URLs (``fifeUrl``, ``audioUrl``, ``previewUrl``): ~6 h (supplement §1.4)."""

VIDEO_ASPECT = {
    "landscape": "VIDEO_ASPECT_RATIO_LANDSCAPE",
    "portrait": "VIDEO_ASPECT_RATIO_PORTRAIT",
    "1:1": "VIDEO_ASPECT_RATIO_SQUARE",
    "4:3": "VIDEO_ASPECT_RATIO_LANDSCAPE_FOUR_THREE",
    "3:4": "VIDEO_ASPECT_RATIO_PORTRAIT_THREE_FOUR",
}
"""Request ``aspectRatio`` → Google enum."""

IMAGE_ASPECT = {
    "landscape": "IMAGE_ASPECT_RATIO_LANDSCAPE",
    "16:9": "IMAGE_ASPECT_RATIO_LANDSCAPE",
    "portrait": "IMAGE_ASPECT_RATIO_PORTRAIT",
    "9:16": "IMAGE_ASPECT_RATIO_PORTRAIT",
    "1:1": "IMAGE_ASPECT_RATIO_SQUARE",
    "4:3": "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE",
    "3:4": "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR",
    "auto": "IMAGE_ASPECT_RATIO_LANDSCAPE",
}
"""Request ``aspectRatio`` → Google enum (images)."""

_MODE = {
    "t2v": "VIDEO_GENERATION_MODE_TEXT_TO_VIDEO",
    "i2v": "VIDEO_GENERATION_MODE_IMAGE_TO_VIDEO",
    "i2v_fl": "VIDEO_GENERATION_MODE_START_AND_END_IMAGE",
    "r2v": "VIDEO_GENERATION_MODE_REFERENCES_TO_VIDEO",
    "v2v": "VIDEO_GENERATION_MODE_VIDEO_EDIT",
    "extend": "VIDEO_GENERATION_MODE_EXTEND",
    "upscale": "VIDEO_GENERATION_MODE_UPSAMPLE",
}


def short_captcha(captcha: dict[str, Any]) -> dict[str, Any]:
    """The 201 / in-progress captcha block: ``service``, ``taskId`` (if any), ``durationMs``."""
    return {k: captcha[k] for k in ("service", "taskId", "durationMs") if k in captcha}


def video_item(job: FakeJob, out: OutputMedia, media: MediaOrigin) -> dict[str, Any]:
    """One ``media[]`` entry of a video job."""
    m = job.meta
    aspect = VIDEO_ASPECT.get(m.get("aspect", "landscape"), "VIDEO_ASPECT_RATIO_LANDSCAPE")
    exp = job.finished_at + URL_TTL_VIDEO
    prompt = m.get("prompt", "")
    generated: dict[str, Any] = {
        "seed": out.seed,
        "prompt": prompt,
        "model": m.get("internal_model", "veo_3_1_t2v"),
        "baseImageMediaGenerationId": m.get("base_image", ""),
        "isLooped": False,
        "aspectRatio": aspect,
    }
    if m.get("mode") == "upscale":
        generated["upsampleMetadata"] = {"resolution": m.get("resolution", "1080p")}
    return {
        "name": out.name,
        "projectId": m.get("project_id", ""),
        "workflowId": out.workflow_id,
        "workflowStepId": "CAE",
        "mediaMetadata": {
            "createTime": iso_micro(job.finished_at),
            "mediaTitle": prompt,
            "requestData": {
                "videoGenerationRequestData": {
                    "videoModelControlInput": {
                        "videoModelName": m.get("internal_model", "veo_3_1_t2v"),
                        "videoGenerationMode": _MODE.get(m.get("mode", "t2v"), _MODE["t2v"]),
                        "videoAspectRatio": aspect,
                    }
                },
                "clientPlatform": "CLIENT_PLATFORM_WEB",
            },
            "mediaStatus": {"mediaGenerationStatus": "MEDIA_GENERATION_STATUS_SUCCESSFUL"},
            "visibility": "PRIVATE",
        },
        "video": {
            "generatedVideo": generated,
            "dimensions": {"length": f"{m.get('duration', 8)}s"},
            "operation": {"name": out.name},
        },
        "mediaGenerationId": out.media_generation_id,
        "videoUrl": media.url("video", out.name, "mp4", exp),
        "thumbnailUrl": media.url("image", out.name, "jpg", exp),
    }


def image_item(job: FakeJob, out: OutputMedia, media: MediaOrigin) -> dict[str, Any]:
    """One ``media[]`` entry of an image job (``fifeUrl`` on the media origin)."""
    m = job.meta
    refs = m.get("image_inputs", [])
    return {
        "name": out.name,
        "workflowId": out.workflow_id,
        "image": {
            "generatedImage": {
                "seed": out.seed,
                "mediaGenerationId": out.media_generation_id,
                "mediaVisibility": "PRIVATE",
                "prompt": m.get("prompt", ""),
                "modelNameType": m.get("model_name_type", "HARBOR_SEAL"),
                "workflowId": out.workflow_id,
                "fifeUrl": media.url("image", out.name, "jpg", job.finished_at + URL_TTL_OTHER),
                "aspectRatio": IMAGE_ASPECT.get(
                    m.get("aspect", "landscape"), "IMAGE_ASPECT_RATIO_LANDSCAPE"
                ),
                "requestData": {
                    "promptInputs": [{"textInput": m.get("prompt", "")}],
                    "imageGenerationRequestData": {
                        "imageGenerationImageInputs": [
                            {"mediaGenerationId": r, "imageInputType": "IMAGE_INPUT_TYPE_REFERENCE"}
                            for r in refs
                        ]
                    },
                },
            }
        },
    }


def _media(job: FakeJob, media: MediaOrigin) -> list[dict[str, Any]]:
    build = video_item if job.type == "video" else image_item
    return [build(job, o, media) for o in job.outputs]


def _failure(job: FakeJob) -> tuple[dict[str, Any], dict[str, Any]]:
    """(top-level error fields, ``response.error``) of a failed job."""
    if job.failure_reason == "PUBLIC_ERROR_UNSAFE_GENERATION":
        top = {
            "error": "API error: 400",
            "errorDetails": "Generation blocked by content policy (PUBLIC_ERROR_UNSAFE_GENERATION)",
            "code": 400,
        }
        return top, unsafe_generation_error()
    top = {
        "error": "API error: 500",
        "errorDetails": "Upstream model returned an internal error",
        "code": 500,
    }
    return top, internal_error()


def job_record(job: FakeJob, t: float, media: MediaOrigin) -> dict[str, Any]:
    """``GET jobs/{jobid}`` body (and webhook payload) of ``job`` as of simulated time ``t``."""
    status = job.status_at(t)
    rec: dict[str, Any] = {
        "jobid": job.jobid,
        "type": job.type,
        "status": status,
        "created": iso(job.created_at),
    }
    if status == "started":
        rec["updated"] = iso(job.started_at)
    elif status in {"completed", "failed"}:
        rec["updated"] = iso(job.finished_at)
    rec["request"] = job.meta.get("echo", job.request)
    captcha = job.meta.get("captcha")
    response: dict[str, Any] = {}
    if status in {"created", "started"}:
        if job.route == "POST videos":
            response["operations"] = pending_operations(job)
        if captcha:
            response["captcha"] = short_captcha(captcha)
    elif status == "completed":
        response["media"] = _media(job, media)
        if job.type == "video":
            response["remainingCredits"] = job.remaining_credits
        if captcha:
            response["captcha"] = captcha
    else:
        top, err = _failure(job)
        rec.update(top)
        response["error"] = err
        if captcha:
            response["captcha"] = captcha
    rec["response"] = response
    return rec


def pending_operations(job: FakeJob) -> list[dict[str, Any]]:
    """``response.operations[]`` of a just-created POST videos job (one per ``count``)."""
    return [
        {
            "operation": {"name": o.name},
            "sceneId": o.workflow_id,
            "status": "MEDIA_GENERATION_STATUS_PENDING",
        }
        for o in job.outputs
    ]


def sync_body(job: FakeJob, media: MediaOrigin) -> dict[str, Any]:
    """The 200 body of a finished synchronous call (``jobId`` camelCase)."""
    body: dict[str, Any] = {"jobId": job.jobid, "media": _media(job, media)}
    if job.route == "POST videos/upscale":
        body["operations"] = [_legacy_upscale_op(job, o, media) for o in job.outputs]
    if job.type == "video":
        body["remainingCredits"] = job.remaining_credits
    if job.meta.get("captcha"):
        body["captcha"] = job.meta["captcha"]
    return body


def _legacy_upscale_op(job: FakeJob, out: OutputMedia, media: MediaOrigin) -> dict[str, Any]:
    """Legacy ``operations[]`` entry still returned by POST videos/upscale (May 2026)."""
    exp = job.finished_at + URL_TTL_VIDEO
    m = job.meta
    return {
        "operation": {
            "name": out.name,
            "metadata": {
                "@type": "type.googleapis.com/google.internal.labs.aisandbox.v1.Media",
                "name": out.name,
                "video": {
                    "seed": out.seed,
                    "mediaGenerationId": out.media_generation_id,
                    "prompt": m.get("prompt", ""),
                    "fifeUrl": media.url("video", out.name, "mp4", exp),
                    "mediaVisibility": "PRIVATE",
                    "servingBaseUri": media.url("image", out.name, "jpg", exp),
                    "model": m.get("internal_model", "veo_3_1_upsampler_1080p"),
                    "isLooped": False,
                    "aspectRatio": VIDEO_ASPECT.get(
                        m.get("aspect", "landscape"), "VIDEO_ASPECT_RATIO_LANDSCAPE"
                    ),
                },
            },
        },
        "sceneId": out.workflow_id,
        "mediaGenerationId": out.media_generation_id,
        "status": "MEDIA_GENERATION_STATUS_SUCCESSFUL",
    }


def created_body(job: FakeJob) -> dict[str, Any]:
    """The 201 body of an async submit (``jobid`` lowercase, ``status: created``)."""
    response: dict[str, Any] = {}
    if job.route == "POST videos":
        response["operations"] = pending_operations(job)
    if job.meta.get("captcha"):
        response["captcha"] = short_captcha(job.meta["captcha"])
    return {
        "jobid": job.jobid,
        "type": job.type,
        "status": "created",
        "created": iso(job.created_at),
        "request": job.meta.get("echo", job.request),
        "response": response,
    }


def failed_sync_body(job: FakeJob) -> tuple[int, dict[str, Any]]:
    """(status, body) of a synchronous call whose job failed (post-videos 400 example)."""
    top, err = _failure(job)
    body: dict[str, Any] = {"jobId": job.jobid, "error": top["error"], "code": top["code"]}
    body["response"] = {"error": err}
    if job.type == "image":
        return top["code"], {"error": err}
    return top["code"], body
