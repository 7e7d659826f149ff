"""Bases shared by several resources: the job-id spelling of response bodies and the captcha /
callback fields of the generation params.

* :class:`JobIdFields` — base of bodies that carry a job id as ``jobid`` or ``jobId``;
* :class:`CaptchaParams` and :class:`CallbackParams` — request-side bases of the params of the
  endpoints that solve a reCAPTCHA and/or accept webhook callbacks.

The other shared pieces have a module each: :mod:`~flowapi.types.enums` (server-owned
strings), :mod:`~flowapi.types.google_error` (Google's error object),
:mod:`~flowapi.types.errors` (the useapi.net error envelope), :mod:`~flowapi.types.captcha`
(the ``captcha`` block) and :mod:`~flowapi.types.media` (``media[]``, ``operations[]`` and the
unified :class:`~flowapi.types.media.MediaItem`); :mod:`flowapi.types` exports them all.

Doc references name the spec sections: "POST /videos › Responses › 200" is the current
(June 2026) page in ``spec/seeds/post-videos.txt``; "supplement §5" is
``spec/api-reference-supplement.md``.
"""

from __future__ import annotations

import msgspec

from ._base import UNSET, ResponseStruct, UnsetType, WireParams

__all__ = ["CallbackParams", "CaptchaParams", "JobIdFields"]


# ---------------------------------------------------------------------------------------------
# Response-side base: the job id under either spelling
# ---------------------------------------------------------------------------------------------


class JobIdFields(ResponseStruct, kw_only=True, frozen=True):
    """Base for bodies that carry a job id under either spelling.

    The async 201 body and job records say ``jobid``; sync 200 bodies and error bodies say
    ``jobId`` (supplement §1.4: "Accept either"). Read :attr:`jobid`.
    """

    raw_jobid: str = msgspec.field(name="jobid", default="")
    """``jobid`` exactly as sent (lowercase spelling), or ``""``."""
    raw_job_id: str = msgspec.field(name="jobId", default="")
    """``jobId`` exactly as sent (camelCase spelling), or ``""``."""

    @property
    def jobid(self) -> str:
        """The job id, whichever spelling the server used (``""`` when absent).

        Format ``j{digits}{v|i}-u{userid}-email:{email}-bot:google-flow``; opaque, may contain
        ``:``, ``@`` and ``*``.
        """
        return self.raw_jobid or self.raw_job_id


# ---------------------------------------------------------------------------------------------
# Request-side bases shared by the generation params
# ---------------------------------------------------------------------------------------------


class CaptchaParams(WireParams, kw_only=True):
    """Base of params for endpoints that solve a reCAPTCHA (supplement §2 "Captcha Parameters").

    POST /images, /images/upscale, /videos, /videos/upscale, /videos/extend and /voices. The
    three fields are mutually exclusive; :func:`flowapi._capabilities.validate` enforces it
    before sending (not construction, so ``FlowSession(validate=False)`` can send anything).
    """

    captcha_token: str | UnsetType = UNSET
    """``captchaToken`` — your own reCAPTCHA v3 Enterprise token; single attempt, no retry
    (stats show it as ``UserProvided``)."""
    captcha_retry: int | UnsetType = UNSET
    """``captchaRetry`` — attempts with fresh tokens, cycling through configured providers;
    1–10, server default 3 (the 403 guidance suggests 5 or more)."""
    captcha_order: str | UnsetType = UNSET
    """``captchaOrder`` — explicit provider sequence, comma-separated, repeats allowed, at most
    10 entries (e.g. ``"EzCaptcha,EzCaptcha,CapSolver"``); each needs a configured key."""


class CallbackParams(CaptchaParams, kw_only=True):
    """Base of params that accept webhook callbacks (supplement §4: POST /images, /videos,
    /videos/upscale, /videos/extend)."""

    reply_url: str | UnsetType = UNSET
    """``replyUrl`` — webhook receiving a POST per status change (``created``, ``started``,
    ``completed``, ``failed``) with the GET /jobs/{jobid} shape; at most 1024 characters."""
    reply_ref: str | UnsetType = UNSET
    """``replyRef`` — your reference, echoed as ``request.replyRef`` in the job record and
    callbacks; at most 1024 characters. The watcher puts its submit marker here when unset."""
