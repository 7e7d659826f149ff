"""One ``flowapi`` subcommand per API endpoint (DESIGN §9), printing JSON for scripting.

``flowapi <group> <command> ...``; the groups and commands are the API's own nouns::

    accounts    create | list | get EMAIL | delete EMAIL
    captcha     providers | set-providers --CapSolver KEY ... | stats
    assets      upload FILE | get MEDIA_ID | projects EMAIL | media EMAIL | delete EMAIL ID...
    images      create | upscale
    videos      create | extend | upscale [--async [--wait]] | gif MEDIA_ID | concatenate CLIP...
    voices      create | list --email E | get REF | delete REF
    characters  create | list --email E | get REF | delete REF
    jobs        get JOBID | list | wait JOBID

Request-body options of ``create``/``extend``/``upscale`` are generated from the params
classes (:mod:`flowapi.cli._endpoint_params`): ``--prompt``, ``--aspectRatio``,
``--referenceImage_1`` ..., plus ``--json BODY``. The response is printed as JSON (wire
names, 2-space indent) on stdout; progress lines go to stderr.

Exit codes: 0 success; 1 the API or a job failed (message on stderr); 2 bad usage or input
(nothing sent); 3 the token was refused (401) or there is no subscription (402). The token
never appears in the output.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from flowapi._capabilities import CAPTCHA_PROVIDERS
from flowapi._errors import (
    AuthenticationError,
    FlowError,
    InvalidParamsError,
    PaymentRequiredError,
)
from flowapi._session import FlowSession
from flowapi.cli import _asset_actions as asset_act
from flowapi.cli import _endpoint_actions as act
from flowapi.cli._arg_types import directory, file_path, positive_int, positive_seconds
from flowapi.cli._endpoint_actions import EXIT_FAILED, EXIT_FATAL, EXIT_USAGE, Prepare
from flowapi.cli._endpoint_output import Output, redact
from flowapi.cli._endpoint_params import add_params_options
from flowapi.types._base import WireParams
from flowapi.types.characters import CharacterParams
from flowapi.types.images import ImageParams, ImageUpscaleParams
from flowapi.types.videos import ExtendParams, VideoParams, VideoUpscaleParams
from flowapi.types.voices import VoiceParams

__all__ = ["register_endpoint_commands", "run_endpoint_command"]

ConnectionArgs = Callable[[argparse.ArgumentParser], None]
if TYPE_CHECKING:
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


# ---------------------------------------------------------------------------------------------
# Running a command
# ---------------------------------------------------------------------------------------------


async def run_endpoint_command(args: argparse.Namespace) -> int:
    """Run the endpoint command parsed into ``args``; returns the exit code.

    Input is checked before anything is sent (and before a token is needed). Errors go to
    stderr without the token: 1 for an API/job failure, 2 for bad input, 3 for 401/402.
    """
    token: str | None = getattr(args, "token", None) or os.environ.get("USEAPI_TOKEN")
    prepare: Prepare | None = getattr(args, "endpoint_prepare", None)
    if prepare is None:
        return _fail("unknown command; see flowapi --help", EXIT_USAGE, token)
    out = Output(raw=bool(getattr(args, "raw", False)),
                 saved=getattr(args, "out", None) is not None,
                 hint=getattr(args, "base64_hint", "--raw"), token=token)
    try:
        action = prepare(args, out)
    except ValueError as exc:  # UsageError, InvalidParamsError: nothing was sent
        return _fail(exc, EXIT_USAGE, token)
    kwargs: dict[str, Any] = {"validate": not getattr(args, "no_validate", False)}
    if getattr(args, "base_url", None):
        kwargs["base_url"] = args.base_url
    try:
        session = FlowSession(token, **kwargs)
    except (FlowError, ValueError) as exc:  # no token, unsafe base URL
        return _fail(exc, EXIT_USAGE, token)
    try:
        async with session as flow:
            return await action(flow)
    except (AuthenticationError, PaymentRequiredError) as exc:
        return _fail(exc, EXIT_FATAL, token)
    except InvalidParamsError as exc:
        return _fail(exc, EXIT_USAGE, token)
    except FlowError as exc:
        return _fail(exc, EXIT_FAILED, token)
    except OSError as exc:
        return _fail(f"{exc.filename or 'file'}: {exc.strerror or exc}", EXIT_FAILED, token)


def _fail(exc: BaseException | str, code: int, token: str | None) -> int:
    label = "fatal" if code == EXIT_FATAL else "error"
    print(f"flowapi: {label}: {redact(str(exc), token)}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------


EXAMPLES: dict[str, str] = {
    "accounts create": "flowapi accounts create --cookies-file cookies.tsv",
    "accounts list": "flowapi accounts list",
    "accounts get": "flowapi accounts get me@gmail.com",
    "accounts delete": "flowapi accounts delete me@gmail.com",
    "captcha providers": "flowapi captcha providers",
    "captcha set-providers": "flowapi captcha set-providers --CapSolver CAP-XXXX",
    "captcha stats": "flowapi captcha stats --limit 100 --provider CapSolver",
    "assets upload": "flowapi assets upload first.jpg --email me@gmail.com",
    "assets get": "flowapi assets get 'user:1234-email:6a6f-video:abc' | jq -r .url",
    "assets projects": "flowapi assets projects me@gmail.com --all",
    "assets media": "flowapi assets media me@gmail.com --project-id PROJECT_ID",
    "assets delete": "flowapi assets delete me@gmail.com MEDIA_ID_1 MEDIA_ID_2 --yes",
    "images create": 'flowapi images create --prompt "A red apple" --count 2 --download out/',
    "images upscale": "flowapi images upscale --mediaGenerationId user:... --resolution 4k \\\n"
                      "      --out big.jpg",
    "videos create": 'flowapi videos create --prompt "A fox in snow" --startImage ./first.jpg \\\n'
                     "      --async --wait --download out/",
    "videos extend": 'flowapi videos extend --mediaGenerationId user:... --prompt "It jumps" \\\n'
                     "      --async --wait",
    "videos upscale": "flowapi videos upscale --mediaGenerationId user:... --resolution 4K \\\n"
                      "      --async --wait --download out/",
    "videos gif": "flowapi videos gif user:... --out preview.gif",
    "videos concatenate": "flowapi videos concatenate user:...A user:...B::1.5 --out joined.mp4",
    "voices create": 'flowapi voices create --email me@gmail.com --voice Puck \\\n'
                     '      --displayName "Narrator" --dialog "Hello there" \\\n'
                     '      --voicePerformance "warm, slow"',
    "voices list": "flowapi voices list --email me@gmail.com --source user",
    "voices get": "flowapi voices get Puck",
    "voices delete": "flowapi voices delete REF",
    "characters create": 'flowapi characters create --displayName "Ana" '
                         "--imageReference_1 user:...",
    "characters list": "flowapi characters list --email me@gmail.com",
    "characters get": "flowapi characters get REF",
    "characters delete": "flowapi characters delete REF",
    "jobs get": "flowapi jobs get JOBID",
    "jobs stats": "flowapi jobs stats --options executing",
    "jobs wait": "flowapi jobs wait JOBID --timeout 600 --download out/",
}
"""One example per endpoint command, shown at the end of its ``--help``."""


class _Group:
    """Adds the commands of one group (``flowapi videos ...``)."""

    def __init__(self, sub: SubParsers, name: str, summary: str, description: str,
                 connection: ConnectionArgs) -> None:
        examples = "\n".join(f"  {text}" for key, text in EXAMPLES.items()
                             if key.split(" ", 1)[0] == name)
        parser = sub.add_parser(name, help=summary, description=description,
                                epilog=f"examples:\n{examples}")
        self.name = name
        self.actions: SubParsers = parser.add_subparsers(
            dest=f"{name}_command", metavar="COMMAND", required=True)
        self.connection = connection

    def add(self, name: str, endpoint: str, summary: str, prepare: Prepare, *,
            details: str = "", base64_hint: str = "--raw") -> argparse.ArgumentParser:
        """A command calling ``endpoint``; ``summary`` shows in the group's list."""
        parser: argparse.ArgumentParser = self.actions.add_parser(
            name, help=f"{summary} ({endpoint})",
            description=f"{summary[0].upper()}{summary[1:]}. Calls {endpoint}. {details}".strip(),
            epilog="Prints the response as JSON (the API's field names) on stdout. Exit codes: "
                   "0 ok, 1 API/job error, 2 bad input, 3 token refused (401/402).\n\n"
                   f"example:\n  {EXAMPLES[f'{self.name} {name}']}")
        parser.set_defaults(endpoint_prepare=prepare, base64_hint=base64_hint)
        self.connection(parser)
        return parser


def _params_command(group: _Group, name: str, endpoint: str, summary: str, prepare: Prepare,
                    cls: type[WireParams], *, details: str = "",
                    base64_hint: str = "--raw") -> argparse.ArgumentParser:
    parser = group.add(name, endpoint, summary, prepare, details=details,
                       base64_hint=base64_hint)
    add_params_options(parser, cls)
    parser.add_argument("--no-validate", action="store_true",
                        help="send the body without the local checks of the model "
                             "capability table (the API moves faster than SDKs)")
    return parser


def _add_raw(parser: argparse.ArgumentParser, what: str = "base64 payloads") -> None:
    parser.add_argument("--raw", action="store_true",
                        help=f"print {what} in the JSON instead of a '<N bytes base64>' "
                             "placeholder (ignored with --out)")


def _add_wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=positive_seconds, default=None, metavar="S",
                        help="give up waiting after S seconds (exit 1; the job may still "
                             "finish: run `flowapi jobs wait JOBID` later)")
    parser.add_argument("--poll-interval", type=positive_seconds, default=None, metavar="S",
                        help="poll every S seconds (default: first poll near the model's "
                             "typical generation time, then every 2-10 s)")
    parser.add_argument("--download", type=directory, default=None, metavar="DIR",
                        help="save every video and its thumbnail into DIR "
                             "(JOBID-N.mp4, JOBID-N.jpg)")


def register_endpoint_commands(sub: SubParsers, add_connection_args: ConnectionArgs) -> None:
    """Add the endpoint groups (``accounts`` ... ``jobs``) to the ``flowapi`` subparsers.

    Every command gets ``--token``/``--base-url`` from ``add_connection_args`` and sets
    ``endpoint_prepare`` for :func:`run_endpoint_command`.
    """
    _accounts(_Group(sub, "accounts", "Google Flow accounts (POST/GET/DELETE /accounts)",
                     "Add, list, inspect and delete the Google Flow accounts of your "
                     "useapi.net subscription.", add_connection_args))
    _captcha(_Group(sub, "captcha", "captcha provider keys and statistics "
                    "(/accounts/captcha-providers, /accounts/captcha-stats)",
                    "Configure captcha-solver API keys and compare their success rates.",
                    add_connection_args))
    _assets(_Group(sub, "assets", "upload, re-sign, list and delete images and videos "
                   "(/assets)", "Upload images and videos to use as startImage, "
                   "referenceImage_N, referenceVideo_1, reference_N or character images; get "
                   "a fresh download URL; list an account's projects and media; delete media "
                   "for good.", add_connection_args))
    _images(_Group(sub, "images", "generate and upscale images (POST /images, "
                   "/images/upscale)", "Imagen 4 / Nano Banana images (synchronous).",
                   add_connection_args))
    _videos(_Group(sub, "videos", "generate and post-process videos (POST /videos, "
                   "/videos/extend, /videos/upscale, /videos/gif, /videos/concatenate)",
                   "Veo 3.1 and Gemini Omni Flash videos: synchronously, or as async jobs "
                   "with --async [--wait].", add_connection_args))
    _voices(_Group(sub, "voices", "system and custom voices (POST/GET/DELETE /voices)",
                   "Voices for referenceAudio_N and characters.", add_connection_args))
    _characters(_Group(sub, "characters", "reusable characters (POST/GET/DELETE "
                       "/characters)", "Characters bundle 1-2 reference images and an "
                       "optional voice, used as character_N.", add_connection_args))
    _jobs(_Group(sub, "jobs", "async job records and the load-balancing listing (GET /jobs, "
                 "GET /jobs/{jobid})", "Read, list and wait for async jobs.",
                 add_connection_args))


def _accounts(g: _Group) -> None:
    p = g.add("create", "POST /accounts", "add or update an account from its cookie table",
              act.accounts_create, details="Copy the accounts.google.com cookies from the "
              "browser's DevTools as a tab-separated table.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--cookies", metavar="TEXT", help="the cookie table itself")
    source.add_argument("--cookies-file", metavar="PATH",
                        help="a file holding the cookie table (- reads stdin)")
    g.add("list", "GET /accounts", "list the configured accounts (email → summary)",
          act.simple(lambda flow, args: flow.accounts.list()))
    p = g.add("get", "GET /accounts/{email}", "show an account's health, credits and models",
              act.simple(lambda flow, args: flow.accounts.get(args.email)))
    p.add_argument("email", metavar="EMAIL", help="the account's email")
    p = g.add("delete", "DELETE /accounts/{email}", "remove an account (cannot be undone)",
              act.simple(lambda flow, args: flow.accounts.delete(args.email)))
    p.add_argument("email", metavar="EMAIL", help="the account's email")


def _captcha(g: _Group) -> None:
    g.add("providers", "GET /accounts/captcha-providers",
          "show the configured provider keys (masked) or the free captcha credits",
          act.simple(lambda flow, args: flow.captcha.get_providers()))
    p = g.add("set-providers", "POST /accounts/captcha-providers", "set captcha provider keys",
              act.captcha_set_providers, details="Give one option per provider to set; an "
              "empty string removes that provider's key.")
    for name in CAPTCHA_PROVIDERS:
        p.add_argument(f"--{name}", dest=act.provider_dest(name), metavar="KEY", default=None,
                       help=f"{name} API key")
    p = g.add("stats", "GET /accounts/captcha-stats",
              "per-solve captcha records and success rates by provider",
              act.simple(lambda flow, args: flow.captcha.stats(
                  date=args.date, limit=args.limit, provider=args.provider,
                  anonymized=args.anonymized)))
    p.add_argument("--date", metavar="YYYY-MM-DD", help="day to report (default today)")
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="the last N records across dates, 1-50000 (--date is then ignored)")
    p.add_argument("--provider", choices=(*CAPTCHA_PROVIDERS, "UserProvided"),
                   help="only this provider")
    p.add_argument("--anonymized", action="store_true", default=None,
                   help="aggregated summary across all users, no rows")


def _assets(g: _Group) -> None:
    p = g.add("upload", "POST /assets/{email}", "upload an image or video",
              act.simple(lambda flow, args: flow.assets.upload(
                  args.file, email=args.email, content_type=args.content_type)),
              details="Prints the mediaGenerationId to pass as startImage, referenceImage_N, "
              "referenceVideo_1 ... Images up to 20 MB, videos up to 100 MB.")
    p.add_argument("file", type=Path, metavar="FILE", help="a .png, .jpg, .webp or .mp4 file")
    p.add_argument("--email", default=None,
                   help="account to upload to (default: the only account, or load balancing)")
    p.add_argument("--content-type", default=None,
                   choices=("image/png", "image/jpeg", "image/webp", "video/mp4"),
                   help="override the type detected from the file's bytes")
    p = g.add("get", "GET /assets/{mediaGenerationId}", "get a fresh signed download URL",
              act.simple(lambda flow, args: flow.assets.get(args.media_generation_id)),
              details="Media URLs expire after ~6 h; this re-signs an image or video "
              "(uploaded or generated). The URL itself is valid ~6 h.")
    p.add_argument("media_generation_id", metavar="MEDIA_ID",
                   help="mediaGenerationId of an image or video")
    p = g.add("projects", "GET /assets/projects/{email}",
              "list the account's projects that hold generated media",
              asset_act.assets_projects, details="Counts cover generated media only and are "
              "per page; --all follows the cursor and merges the pages per projectId.")
    p.add_argument("email", metavar="EMAIL", help="the account")
    p.add_argument("--cursor", default=None, help="continue from this page cursor")
    p.add_argument("--all", action="store_true", help="follow every page and merge them")
    p = g.add("media", "GET /assets/media/{email}",
              "list one project's media (generations and uploads)",
              act.simple(lambda flow, args: flow.assets.list_media(
                  args.email, project_id=args.project_id)),
              details="likelyUpload marks uploads; they stay on the account for good.")
    p.add_argument("email", metavar="EMAIL", help="the account")
    p.add_argument("--project-id", default=None,
                   help="projectId from `assets projects` (default: the current project)")
    p = g.add("delete", "DELETE /assets/{email}", "permanently delete images and videos",
              asset_act.assets_delete, details="Explicit ids only, sent in calls of at most "
              "100 (each all or nothing). Asks before deleting unless --yes. Exit 1 if a "
              "call failed; the report lists the ids still there.")
    p.add_argument("email", metavar="EMAIL", help="the account that owns the media")
    p.add_argument("ids", nargs="*", metavar="MEDIA_ID", help="mediaGenerationIds to delete")
    p.add_argument("--ids-file", default=None, metavar="PATH",
                   help="more ids, one per line (- reads stdin)")
    p.add_argument("--project-id", default=None, help="projectId sent along (optional)")
    p.add_argument("--yes", action="store_true",
                   help="do not ask; required when stdin is not a terminal")


def _images(g: _Group) -> None:
    p = _params_command(g, "create", "POST /images", "generate up to four images",
                        act.images_create, ImageParams, base64_hint="--download")
    p.add_argument("--download", type=directory, default=None, metavar="DIR",
                   help="save every image into DIR (from its URL or inline base64)")
    _add_raw(p, "encodedImage data")
    p = _params_command(g, "upscale", "POST /images/upscale",
                        "upscale an image to 2k or 4k", act.images_upscale, ImageUpscaleParams,
                        base64_hint="--out")
    p.add_argument("--out", type=file_path, default=None, metavar="FILE",
                   help="write the decoded encodedImage (JPEG) to FILE")
    _add_raw(p, "encodedImage")


def _videos(g: _Group) -> None:
    generation = (
        ("create", "POST /videos", "generate videos (T2V, I2V, R2V, V2V)", VideoParams),
        ("extend", "POST /videos/extend", "extend a Veo video by ~8 s", ExtendParams),
        ("upscale", "POST /videos/upscale", "upscale a video to 1080p or 4K",
         VideoUpscaleParams),
    )
    for name, endpoint, summary, cls in generation:
        p = _params_command(
            g, name, endpoint, summary, act.generation(cls), cls, base64_hint="--download",
            details="Without --async the call waits for the result (synchronous mode). "
                    "--async submits a job (\"async\": true) and prints the 201 job record; "
                    "--async --wait then polls GET /jobs/{jobid} and prints the final job.")
        p.add_argument("--async", dest="async_mode", action="store_true",
                       help="submit as an async job (flow.jobs.submit) and print the job")
        p.add_argument("--wait", action="store_true",
                       help="with --async: wait for the job (flow.jobs.wait) and print the "
                            "final record")
        _add_wait_options(p)
        _add_raw(p, "rawBytes")
    p = g.add("gif", "POST /videos/gif", "make an animated GIF preview of a video",
              act.videos_gif, base64_hint="--out")
    p.add_argument("media_generation_id", metavar="MEDIA_ID",
                   help="mediaGenerationId of a generated video")
    p.add_argument("--out", type=file_path, default=None, metavar="FILE",
                   help="write the decoded encodedGif to FILE")
    _add_raw(p, "encodedGif")
    p = g.add("concatenate", "POST /videos/concatenate", "join 2-10 clips into one video",
              act.videos_concatenate, base64_hint="--out",
              details="Clips of one account and aspect ratio, in order. Each CLIP is "
                      "MEDIA_ID[:TRIM_START[:TRIM_END]] with trims in seconds (ID::1 trims "
                      "only the end; end an id whose last segment is a number with '::').")
    p.add_argument("clips", nargs="+", metavar="CLIP", help="ID[:TRIM_START[:TRIM_END]]")
    p.add_argument("--out", type=file_path, default=None, metavar="FILE",
                   help="write the decoded encodedVideo (MP4) to FILE")
    _add_raw(p, "encodedVideo")


def _voices(g: _Group) -> None:
    _params_command(g, "create", "POST /voices", "create a custom voice from a preset",
                    act.create(VoiceParams), VoiceParams)
    p = g.add("list", "GET /voices", "list system presets and/or the account's voices",
              act.simple(lambda flow, args: flow.voices.list(args.email, source=args.source)))
    p.add_argument("--email", required=True, help="the account")
    p.add_argument("--source", choices=("system", "user"), default=None,
                   help="only system presets or only user voices")
    p = g.add("get", "GET /voices/{ref}", "show a system preset or a user voice",
              act.simple(lambda flow, args: flow.voices.get(args.ref)))
    p.add_argument("ref", metavar="REF", help="preset name or user voice reference-id")
    p = g.add("delete", "DELETE /voices/{ref}", "delete a user voice",
              act.simple(lambda flow, args: flow.voices.delete(args.ref)))
    p.add_argument("ref", metavar="REF", help="user voice reference-id")


def _characters(g: _Group) -> None:
    _params_command(g, "create", "POST /characters", "create a character",
                    act.create(CharacterParams), CharacterParams)
    p = g.add("list", "GET /characters", "list the account's characters",
              act.simple(lambda flow, args: flow.characters.list(args.email)))
    p.add_argument("--email", required=True, help="the account")
    p = g.add("get", "GET /characters/{ref}", "show a character with preview URLs",
              act.simple(lambda flow, args: flow.characters.get(args.ref)))
    p.add_argument("ref", metavar="REF", help="character reference-id")
    p = g.add("delete", "DELETE /characters/{ref}", "delete a character (its voice is kept)",
              act.simple(lambda flow, args: flow.characters.delete(args.ref)))
    p.add_argument("ref", metavar="REF", help="character reference-id")


def _jobs(g: _Group) -> None:
    p = g.add("get", "GET /jobs/{jobid}", "show a job record",
              act.simple(lambda flow, args: flow.jobs.get(args.jobid)),
              details="Records are kept 7 days (410 after).")
    p.add_argument("jobid", metavar="JOBID", help="the job id")
    _add_raw(p, "rawBytes")
    p = g.add("stats", "GET /jobs", "load-balancing statistics and running jobs",
              act.simple(lambda flow, args: flow.jobs.stats(args.options)))
    p.add_argument("--options", choices=("summary", "executing", "history"), default="summary",
                   help="summary (default), executing (adds running jobs) or history (adds "
                        "recent finished jobs)")
    p = g.add("wait", "GET /jobs/{jobid}", "poll a job until it finishes",
              act.jobs_wait, base64_hint="--download",
              details="Prints the final record; a failed job is printed too and exits 1.")
    p.add_argument("jobid", metavar="JOBID", help="the job id")
    _add_wait_options(p)
    _add_raw(p, "rawBytes")
