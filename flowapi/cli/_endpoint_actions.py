"""What each per-endpoint command does: ``prepare(args, out)`` checks the command line
(raising :class:`~flowapi.cli._endpoint_params.UsageError` before anything is sent) and
returns the ``action`` that runs on the open :class:`~flowapi.FlowSession`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from flowapi._capabilities import CAPTCHA_PROVIDERS, validate
from flowapi._errors import JobFailedError
from flowapi._polling import PollPolicy
from flowapi._session import FlowSession
from flowapi.cli._endpoint_output import Output, download_media, info
from flowapi.cli._endpoint_params import UsageError, build_params
from flowapi.cli._uploads import local_files, upload_files
from flowapi.types._base import UNSET, WireParams
from flowapi.types.characters import CharacterParams
from flowapi.types.images import ImageParams, ImageUpscaleParams
from flowapi.types.jobs import Job
from flowapi.types.videos import ConcatClip, ExtendParams, VideoParams, VideoUpscaleParams
from flowapi.types.voices import VoiceParams

__all__ = [
    "EXIT_FAILED",
    "EXIT_FATAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "Action",
    "Prepare",
    "accounts_create",
    "captcha_set_providers",
    "create",
    "generation",
    "images_create",
    "images_upscale",
    "jobs_wait",
    "parse_clip",
    "provider_dest",
    "simple",
    "videos_concatenate",
    "videos_gif",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FATAL = 0, 1, 2, 3

_P = TypeVar("_P", VideoParams, ExtendParams, VideoUpscaleParams)

Action = Callable[[FlowSession], Awaitable[int]]
"""What a command does once the session is open; returns the exit code."""
Prepare = Callable[[argparse.Namespace, Output], Action]
"""Checks the command line (raising :class:`UsageError`) and returns the :data:`Action`."""


# ---------------------------------------------------------------------------------------------
# Shared pieces of the commands
# ---------------------------------------------------------------------------------------------


def _params(args: argparse.Namespace, cls: type[WireParams]) -> Any:
    """The params of a generated-options command, validated locally unless --no-validate."""
    params = build_params(args, cls)
    if not args.no_validate:
        validate(params)
    return params


def _poll_policy(args: argparse.Namespace) -> PollPolicy | None:
    interval: float | None = getattr(args, "poll_interval", None)
    if interval is None:
        return None
    if interval <= 0:
        raise UsageError("--poll-interval must be > 0 seconds")
    return PollPolicy(first_fraction=0.0, min_first_delay=interval, interval=interval,
                      growth=1.0, max_interval=interval, jitter=0.0)


async def _wait_and_print(flow: FlowSession, args: argparse.Namespace, out: Output, jobid: str,
                          *, model: str | None = None, kind: str = "video") -> int:
    """``jobs.wait``, print the final job (also when it failed), download if asked."""
    try:
        done = await flow.jobs.wait(jobid, timeout=args.timeout, poll=_poll_policy(args),
                                    model=model, kind=kind)
    except JobFailedError as exc:
        if exc.job is not None:
            out.emit(exc.job)
        raise
    out.emit(done)
    if args.download is not None:
        await download_media(flow, done.media, args.download, name=done.jobid, token=out.token)
    return EXIT_OK


async def _save_base64(flow: FlowSession, data: str, path: Path | None, field: str,
                       out: Output) -> int:
    if path is None:
        return EXIT_OK
    if not data:
        info(f"the response has no {field}; nothing written to {path}", out.token)
        return EXIT_FAILED
    await flow.media.save_base64(data, path)
    info(f"saved {path}", out.token)
    return EXIT_OK


def simple(call: Callable[[FlowSession, argparse.Namespace], Awaitable[Any]]) -> Prepare:
    """A command that makes one call and prints its result."""
    def prepare(args: argparse.Namespace, out: Output) -> Action:
        async def action(flow: FlowSession) -> int:
            out.emit(await call(flow, args))
            return EXIT_OK
        return action
    return prepare


# ---------------------------------------------------------------------------------------------
# accounts, captcha, assets
# ---------------------------------------------------------------------------------------------


def accounts_create(args: argparse.Namespace, out: Output) -> Action:
    """``accounts create``: POST /accounts with --cookies or the --cookies-file text."""
    if args.cookies_file is not None:
        try:
            cookies = (sys.stdin.read() if str(args.cookies_file) == "-"
                       else Path(args.cookies_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--cookies-file {args.cookies_file}: {exc}") from exc
    else:
        cookies = args.cookies
    if not cookies.strip():
        raise UsageError("the cookies are empty: paste the accounts.google.com cookie table")

    async def action(flow: FlowSession) -> int:
        out.emit(await flow.accounts.create(cookies))
        return EXIT_OK
    return action


def provider_dest(name: str) -> str:
    """The argparse ``dest`` of ``--<provider>`` (``2Captcha`` is not an identifier)."""
    return f"provider_{name}"


def captcha_set_providers(args: argparse.Namespace, out: Output) -> Action:
    """``captcha set-providers``: POST /accounts/captcha-providers with the given keys."""
    keys = {name: value for name in CAPTCHA_PROVIDERS
            if (value := getattr(args, provider_dest(name))) is not None}
    if not keys:
        raise UsageError("give at least one provider key, e.g. --CapSolver KEY "
                         "(an empty string removes a key)")

    async def action(flow: FlowSession) -> int:
        out.emit(await flow.captcha.set_providers(keys))
        return EXIT_OK
    return action


# ---------------------------------------------------------------------------------------------
# images, videos
# ---------------------------------------------------------------------------------------------


def images_create(args: argparse.Namespace, out: Output) -> Action:
    """``images create``: POST /images; ``--download DIR`` saves every image."""
    params = _params(args, ImageParams)

    async def action(flow: FlowSession) -> int:
        result = await flow.images.create(params)
        out.emit(result)
        if args.download is not None:
            await download_media(flow, result.media, args.download,
                                 name=result.jobid or "image", token=out.token)
        return EXIT_OK
    return action


def images_upscale(args: argparse.Namespace, out: Output) -> Action:
    """``images upscale``: POST /images/upscale; ``--out FILE`` writes ``encodedImage``."""
    params = _params(args, ImageUpscaleParams)

    async def action(flow: FlowSession) -> int:
        result = await flow.images.upscale(params)
        out.emit(result)
        return await _save_base64(flow, result.encoded_image, args.out, "encodedImage", out)
    return action


def generation(cls: type[VideoParams | ExtendParams | VideoUpscaleParams]) -> Prepare:
    """``videos create|extend|upscale``: sync call, or ``--async`` [``--wait``] job."""
    kind = "upscale" if cls is VideoUpscaleParams else "video"

    def prepare(args: argparse.Namespace, out: Output) -> Action:
        if not args.async_mode:
            if args.wait:
                raise UsageError("--wait needs --async (without --async the call is "
                                 "synchronous and already waits for the result)")
        elif args.download is not None and not args.wait:
            raise UsageError("--download with --async needs --wait (a new job has no media)")
        if (args.timeout is not None or args.poll_interval is not None) and not args.wait:
            raise UsageError("--timeout and --poll-interval apply to --async --wait")
        _poll_policy(args)
        first = _params(args, cls)
        model = first.model if isinstance(getattr(first, "model", UNSET), str) else None
        try:
            files = local_files(first.to_wire(), Path.cwd())
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None

        async def action(flow: FlowSession) -> int:
            params = first
            if files:
                uploaded = await _with_uploads(flow, args, first, files, out)
                if uploaded is None:
                    return EXIT_FAILED
                params = uploaded
            if not args.async_mode:
                if isinstance(params, VideoParams):
                    result = await flow.videos.create(params)
                elif isinstance(params, ExtendParams):
                    result = await flow.videos.extend(params)
                else:
                    result = await flow.videos.upscale(params)
                out.emit(result)
                if args.download is not None:
                    await download_media(flow, result.media, args.download,
                                         name=result.jobid or "video", token=out.token)
                return EXIT_OK
            job: Job = await flow.jobs.submit(params)
            if not args.wait:
                out.emit(job)
                return EXIT_OK
            info(f"submitted job {job.jobid}; waiting", out.token)
            return await _wait_and_print(flow, args, out, job.jobid, model=model, kind=kind)
        return action
    return prepare


async def _with_uploads(flow: FlowSession, args: argparse.Namespace, params: _P,
                        files: dict[str, Path], out: Output) -> _P | None:
    """Upload the local files of ``params`` (once each, to one account) and return the
    params with their ``mediaGenerationId`` values and that account's ``email``; ``None``
    (after printing why) when an upload failed."""
    wire = params.to_wire()
    email = wire.get("email")
    result = await upload_files(flow, files.values(),
                                email=email if isinstance(email, str) else None)
    if result.errors:
        for error in result.errors.values():
            info(error, out.token)
        return None
    for name, path in files.items():
        info(f"uploaded {path.name} as {name} {result.ids[path]}", out.token)
        wire[name] = result.ids[path]
    if result.email and "email" not in wire:
        wire["email"] = result.email
    try:
        new = type(params).from_wire(wire)
        if not args.no_validate:
            validate(new)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return new


_TRIM = re.compile(r"(?:\d{1,2}(?:\.\d*)?|\.\d+)?")


def parse_clip(text: str) -> ConcatClip:
    """``ID[:TRIM_START[:TRIM_END]]`` → :class:`ConcatClip`.

    Ids contain ``:`` themselves, so only trailing parts that look like a trim (a number
    below 100, or empty) are taken as trims: ``ID::1.5`` trims only the end; end an id
    whose last segment is a number with ``::`` (``ID::``) to send it untrimmed.

    Raises:
        UsageError: an empty id.
    """
    parts = text.split(":")
    trims: list[str] = []
    while len(parts) > 1 and len(trims) < 2 and _TRIM.fullmatch(parts[-1]):
        trims.insert(0, parts.pop())
    media_id = ":".join(parts)
    if not media_id:
        raise UsageError(f"clip {text!r}: empty mediaGenerationId")
    start = float(trims[0]) if len(trims) >= 1 and trims[0] else UNSET
    end = float(trims[1]) if len(trims) == 2 and trims[1] else UNSET
    return ConcatClip(media_generation_id=media_id, trim_start=start, trim_end=end)


def videos_gif(args: argparse.Namespace, out: Output) -> Action:
    """``videos gif``: POST /videos/gif; ``--out FILE`` writes ``encodedGif``."""
    async def action(flow: FlowSession) -> int:
        result = await flow.videos.gif(args.media_generation_id)
        out.emit(result)
        return await _save_base64(flow, result.encoded_gif, args.out, "encodedGif", out)
    return action


def videos_concatenate(args: argparse.Namespace, out: Output) -> Action:
    """``videos concatenate``: POST /videos/concatenate; ``--out FILE`` writes
    ``encodedVideo``."""
    clips: list[ConcatClip | str] = [parse_clip(c) for c in args.clips]

    async def action(flow: FlowSession) -> int:
        result = await flow.videos.concatenate(clips)
        out.emit(result)
        return await _save_base64(flow, result.encoded_video, args.out, "encodedVideo", out)
    return action


# ---------------------------------------------------------------------------------------------
# voices, characters, jobs
# ---------------------------------------------------------------------------------------------


def create(cls: type[VoiceParams | CharacterParams]) -> Prepare:
    """``voices create`` / ``characters create``: POST /voices or /characters."""
    def prepare(args: argparse.Namespace, out: Output) -> Action:
        params = _params(args, cls)

        async def action(flow: FlowSession) -> int:
            if isinstance(params, VoiceParams):
                out.emit(await flow.voices.create(params))
            else:
                out.emit(await flow.characters.create(params))
            return EXIT_OK
        return action
    return prepare


def jobs_wait(args: argparse.Namespace, out: Output) -> Action:
    """``jobs wait``: poll GET /jobs/{jobid} until the job finishes; print the final record."""
    _poll_policy(args)

    async def action(flow: FlowSession) -> int:
        return await _wait_and_print(flow, args, out, args.jobid)
    return action


