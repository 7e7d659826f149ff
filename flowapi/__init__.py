"""flowapi — the asyncio Python SDK for the useapi.net Google Flow API v1.

Veo 3.1, Gemini Omni Flash and Imagen 4 / Nano Banana from async Python::

    import flowapi

    async with flowapi.FlowSession() as flow:                 # token: USEAPI_TOKEN
        async with flow.watch(max_in_flight=16) as watcher:
            for prompt in prompts:
                await watcher.submit(flowapi.VideoParams(prompt=prompt), tag=prompt)
            watcher.close()
            async for outcome in watcher:                     # completion order, once each
                ...

Public modules: ``flowapi`` (this), ``flowapi.types`` (all models), ``flowapi.testing``
(FakeFlowServer). Nothing runs at import time.
"""

from flowapi._clock import Clock, RealClock, ScaledClock
from flowapi._credits import CreditEstimate, CreditTier, estimate_credits, total_credits
from flowapi._errors import (
    AmbiguousSubmitError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CaptchaRejectedError,
    CaptchaServiceError,
    ContentPolicyError,
    CreditBudgetError,
    FlowError,
    InvalidParamsError,
    JobError,
    JobExpiredError,
    JobFailedError,
    JobTimeoutError,
    NoEligibleAccountError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RecordedFailureError,
    RequestTimeoutError,
    ResponseValidationError,
    ServerError,
    ServiceUnavailableError,
    SessionExpiredError,
)
from flowapi._files import safe_filename
from flowapi._media_policy import MediaPolicy
from flowapi._options import RequestOptions
from flowapi._outcomes import JobFailed, JobSucceeded, Outcome
from flowapi._polling import PollPolicy
from flowapi._retry import RetryBudget, RetryPolicy
from flowapi._session import DEFAULT_BASE_URL, FlowSession
from flowapi._transport import Timeouts
from flowapi._version import __version__
from flowapi.journal import (
    FailureCategory,
    Journal,
    JournalError,
    JournalLockedError,
    MemoryJournal,
    SqliteJournal,
    Submission,
    SubmissionState,
)
from flowapi.resources.assets import AssetDeleteCall, AssetDeleteReport
from flowapi.resources.media import DownloadError
from flowapi.types import (
    UNSET,
    CharacterParams,
    ConcatClip,
    ExtendParams,
    ImageParams,
    ImageUpscaleParams,
    Job,
    MediaItem,
    VideoParams,
    VideoUpscaleParams,
    VoiceParams,
)
from flowapi.watch import JobWatcher, WatcherStats

__all__ = [
    "DEFAULT_BASE_URL",
    "UNSET",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousSubmitError",
    "AssetDeleteCall",
    "AssetDeleteReport",
    "AuthenticationError",
    "BadRequestError",
    "CaptchaRejectedError",
    "CaptchaServiceError",
    "CharacterParams",
    "Clock",
    "ConcatClip",
    "ContentPolicyError",
    "CreditBudgetError",
    "CreditEstimate",
    "CreditTier",
    "DownloadError",
    "ExtendParams",
    "FailureCategory",
    "FlowError",
    "FlowSession",
    "ImageParams",
    "ImageUpscaleParams",
    "InvalidParamsError",
    "Job",
    "JobError",
    "JobExpiredError",
    "JobFailed",
    "JobFailedError",
    "JobSucceeded",
    "JobTimeoutError",
    "JobWatcher",
    "Journal",
    "JournalError",
    "JournalLockedError",
    "MediaItem",
    "MediaPolicy",
    "MemoryJournal",
    "NoEligibleAccountError",
    "NotFoundError",
    "Outcome",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PollPolicy",
    "RateLimitError",
    "RealClock",
    "RecordedFailureError",
    "RequestOptions",
    "RequestTimeoutError",
    "ResponseValidationError",
    "RetryBudget",
    "RetryPolicy",
    "ScaledClock",
    "ServerError",
    "ServiceUnavailableError",
    "SessionExpiredError",
    "SqliteJournal",
    "Submission",
    "SubmissionState",
    "Timeouts",
    "VideoParams",
    "VideoUpscaleParams",
    "VoiceParams",
    "WatcherStats",
    "__version__",
    "estimate_credits",
    "safe_filename",
    "total_credits",
]
