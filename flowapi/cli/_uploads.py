"""Local files given where the API takes a ``mediaGenerationId`` (``startImage``,
``endImage``, ``referenceImage_N``, ``referenceVideo_1``): uploaded once each with
``POST /assets/{email}``, all to one account (DESIGN §9).

One account for all: ``email`` when given, else the account the first successful upload
was load-balanced to. A generation's references must all live on one account (mixing
accounts is a 400), and with several accounts the server could otherwise put a start and
an end frame on different ones. ``flowapi videos create --startImage ./first.jpg`` uses
:func:`upload_files`; ``flowapi batch`` follows the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from flowapi._errors import FlowError
from flowapi._session import FlowSession
from flowapi.cli._prompts import FILE_FIELDS, is_media_id

__all__ = ["UploadResult", "local_files", "upload_files"]

PARALLEL_UPLOADS = 4
"""Uploads at once after the first one has picked the account."""


@dataclass(slots=True)
class UploadResult:
    """What :func:`upload_files` did.

    Attributes:
        ids: local path → ``mediaGenerationId`` of each successful upload.
        errors: local path → why its upload failed (the message says what to do).
        email: the account every upload went to, or ``None`` when none succeeded.
    """

    ids: dict[Path, str] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)
    email: str | None = None


def local_files(wire: Mapping[str, Any], base_dir: Path) -> dict[str, Path]:
    """The file fields of a request body (API field names) that name local files.

    Values that are ``mediaGenerationId`` values (``user:…``) are left out; paths resolve
    against ``base_dir``.

    Raises:
        FileNotFoundError: a value is neither a ``mediaGenerationId`` nor an existing file
            (the message names the field).
    """
    files: dict[str, Path] = {}
    for name in FILE_FIELDS:
        value = wire.get(name)
        if not isinstance(value, str) or is_media_id(value):
            continue
        path = (base_dir / Path(value).expanduser()).resolve()
        if not path.is_file():
            raise FileNotFoundError(
                f"{name} {value!r} is neither a mediaGenerationId (user:…) nor a file "
                f"(looked at {path})")
        files[name] = path
    return files


async def upload_files(flow: FlowSession, paths: Iterable[Path], *, email: str | None = None,
                       on_upload: Callable[[Path, bool], None] | None = None) -> UploadResult:
    """Upload each distinct path once, all to one account (see the module docstring).

    Args:
        flow: the open session.
        paths: local files (duplicates are uploaded once).
        email: the account to upload to; ``None`` → the first upload's account.
        on_upload: called with (path, succeeded) after each upload.

    Returns:
        An :class:`UploadResult`; a failed upload is recorded in ``errors``, not raised.
    """
    result = UploadResult(email=email)
    limiter = anyio.CapacityLimiter(PARALLEL_UPLOADS)

    async def upload(path: Path) -> None:
        async with limiter:
            try:
                asset = await flow.assets.upload(path, email=result.email)
            except FlowError as exc:
                result.errors[path] = f"upload of {path.name} failed: {exc}"
                if on_upload is not None:
                    on_upload(path, False)
                return
            result.ids[path] = asset.media_generation_id
            result.email = result.email or asset.email or None
            if on_upload is not None:
                on_upload(path, True)

    pending = sorted(set(paths))
    while pending and result.email is None:  # the first success picks the account
        await upload(pending.pop(0))
    async with anyio.create_task_group() as tg:
        for path in pending:
            tg.start_soon(upload, path)
    return result
