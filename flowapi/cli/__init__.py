"""The ``flowapi`` command (DESIGN §9): ``batch``, ``demo``, ``fake-server`` and one
subcommand per endpoint. Needs the ``cli`` extra (``pip install 'useapi-google-flow[cli]'``).

Exit codes: 0 success; 1 some jobs/requests failed; 2 bad usage or input file;
3 a fatal API error (bad token, no subscription).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FATAL = 0, 1, 2, 3

DISTRIBUTION = "useapi-google-flow"
"""The name to ``pip install`` (the import name and the command are ``flowapi``)."""


def _add_connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--token", default=None,
                   help="useapi.net API token (default: $USEAPI_TOKEN)")
    p.add_argument("--base-url", default=None,
                   help="API base URL (default: $FLOWAPI_BASE_URL, else "
                        "https://api.useapi.net/v1/google-flow/; http:// only for loopback, "
                        "e.g. a fake-server, whose simulated clock is then followed)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``flowapi`` command."""
    from flowapi._version import __version__
    from flowapi.cli._arg_types import FlowArgumentParser, directory, fault_spec, port, time_scale
    from flowapi.cli._endpoints import register_endpoint_commands

    parser: argparse.ArgumentParser = FlowArgumentParser(
        prog="flowapi",
        description="Google Flow API v1 (useapi.net) from the command line: batch video "
                    "generation, a demo on an embedded fake server, and one command per "
                    "endpoint. Token: --token or $USEAPI_TOKEN; base URL: --base-url or "
                    "$FLOWAPI_BASE_URL.",
        epilog="examples:\n"
               "  flowapi demo\n"
               "  flowapi batch prompts.json --dry-run\n"
               "  flowapi batch prompts.json --out videos/ --max-credits 500\n"
               "  flowapi videos create --prompt \"A fox in snow\" --async --wait --download out/\n"
               "  flowapi jobs wait JOBID\n"
               "  flowapi COMMAND --help")
    parser.add_argument("--version", action="version", version=f"flowapi {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log decisions (retries, parking, polls) to stderr; -vv for more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    batch = sub.add_parser(
        "batch", help="generate every video of a prompts.json and download the results",
        description="Upload local frames once each, submit every prompt as an async job, "
                    "watch them all, download videos (and thumbnails) into --out. A journal "
                    "in --out makes a second run resume without submitting anything twice.",
        epilog="examples:\n"
               "  flowapi batch prompts.json --dry-run\n"
               "  flowapi batch prompts.json --out videos/ --max-credits 500\n"
               "  flowapi batch prompts.json --out videos/   # again: resumes")
    batch.add_argument("prompts", type=Path, help="JSON list of POST /videos bodies (API field "
                       "names; startImage/endImage/referenceImage_N/referenceVideo_1 may be "
                       "local files)")
    _add_batch_options(batch)
    _add_connection_args(batch)

    demo = sub.add_parser(
        "demo", help="run `batch` on examples/prompts.json against an embedded fake server",
        description="The main job on a fresh machine with no token and no network: starts "
                    "a FakeFlowServer, runs the example batch, prints where the files are.",
        epilog="example:\n  flowapi demo --out demo-videos/")
    demo.add_argument("--out", type=directory, default=Path("flowapi-demo-out"),
                      help="output directory (default: ./flowapi-demo-out)")
    demo.add_argument("--time-scale", type=time_scale, default=0.05,
                      help="real seconds per simulated second (default 0.05: a 120 s video "
                           "takes 6 s)")
    demo.add_argument("--prompts", type=Path, default=None,
                      help="prompts file (default: the shipped examples/prompts.json)")
    demo.add_argument("--seed", type=int, default=0, help="fake server RNG seed")

    fake = sub.add_parser(
        "fake-server", help="run the FakeFlowServer standalone (for your own tests)",
        description="A faithful fake of the Google Flow API v1 on loopback, with simulated "
                    "time and seeded fault injection. Clients pointed at it (FLOWAPI_BASE_URL) "
                    "follow its simulated clock.",
        epilog="example:\n"
               "  flowapi fake-server --port 8787 --faults 'throttled:0.05,moderation:0.1'\n"
               "  export FLOWAPI_BASE_URL=http://127.0.0.1:8787/v1/google-flow/\n"
               "  export USEAPI_TOKEN=user:1234-fake-token")
    fake.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    fake.add_argument("--port", type=port, default=8787, help="API port (default 8787)")
    fake.add_argument("--media-port", type=port, default=0,
                      help="media origin port (default: any free port)")
    fake.add_argument("--time-scale", type=time_scale, default=0.01,
                      help="real seconds per simulated second (default 0.01)")
    fake.add_argument("--faults", type=fault_spec, default=None,
                      help="fault spec, e.g. 'throttled:0.05,moderation:0.1,"
                           "reset_after_create:0.01@POST videos'")
    fake.add_argument("--seed", type=int, default=0,
                      help="seed of ids, load-balancing ties and the fault streams (default "
                           "0; a 'seed=N' item in --faults wins): the same seed and the same "
                           "client behaviour inject the same faults")
    fake.add_argument("--allow-urllib-user-agent", action="store_true",
                      help="accept Python urllib's default User-Agent; by default the API "
                           "origin answers it 403 'error code: 1010' like the real "
                           "Cloudflare edge")
    fake.add_argument("--token", default="user:1234-fake-token",
                      help="the bearer token the fake accepts")
    fake.add_argument("--anchor", type=float, default=None,
                      help="Unix time where simulated time equals real time (share it with "
                           "clients in other processes)")

    register_endpoint_commands(sub, _add_connection_args)
    return parser


def _add_batch_options(p: argparse.ArgumentParser) -> None:
    from flowapi.cli._arg_types import (
        directory,
        journal_target,
        non_negative_int,
        non_negative_number,
        positive_int,
        positive_seconds,
        time_scale,
    )

    p.add_argument("--out", type=directory, default=None,
                   help="directory for the media files (required unless --dry-run)")
    p.add_argument("--journal", type=journal_target, default=None,
                   help="journal file, or a postgresql:// URL shared by several processes "
                        "working on this batch together (default: $FLOWAPI_JOURNAL, else "
                        "OUT/flowapi-journal.sqlite)")
    p.add_argument("--namespace", default=None,
                   help="with a PostgreSQL journal: the batch's name in it; processes with "
                        "the same namespace cooperate (default: the URL's namespace= "
                        "parameter, else batch:<absolute OUT>)")
    p.add_argument("--lease", type=positive_seconds, default=30.0,
                   help="with a PostgreSQL journal: seconds after which the prompts of a "
                        "process that died are taken over by the others (default 30)")
    p.add_argument("--email", default=None,
                   help="Google Flow account for uploads and prompts without email "
                        "(default: the only account, or load balancing)")
    p.add_argument("--max-in-flight", type=positive_int, default=16,
                   help="jobs queued or running at once (default 16)")
    p.add_argument("--mode", choices=("listing", "poll"), default="listing",
                   help="how jobs are watched (default: listing)")
    p.add_argument("--job-timeout", type=positive_seconds, default=None,
                   help="seconds per job before it counts as timed out (default: none)")
    p.add_argument("--no-thumbnails", action="store_true", help="skip thumbnail downloads")
    p.add_argument("--resubmit-moderated", type=non_negative_int, default=0,
                   help="resubmit moderated jobs up to N times (spends credits; default 0)")
    p.add_argument("--retry-failed", nargs="?", const="all", default=None, metavar="CATEGORIES",
                   help="submit again prompts an earlier run recorded as failed, by category: "
                        "a comma list of moderated, captcha, rejected, job_failed, account "
                        "(default: all of them). Spends credits again. In-doubt prompts are "
                        "never included: see --resubmit-in-doubt")
    p.add_argument("--resubmit-in-doubt", action="store_true",
                   help="submit again prompts whose earlier submit is in doubt (the run died "
                        "or the network failed while it was on the wire) and was not found by "
                        "its marker. RISK: the job may exist; this may pay for it twice")
    p.add_argument("--dry-run", action="store_true",
                   help="print what each prompt and the whole batch would cost in Flow "
                        "credits (the account's prices when known, else per plan tier) and "
                        "submit nothing")
    p.add_argument("--max-credits", type=non_negative_number, default=None, metavar="N",
                   help="refuse to start when the batch could cost more than N credits "
                        "(exit 2, nothing submitted)")
    p.add_argument("--time-scale", type=time_scale, default=None,
                   help="for fakes: run the client on the simulated clock of a "
                        "`flowapi fake-server --time-scale S --anchor T` (pass the same S). "
                        "Rarely needed: a loopback fake's clock is followed automatically")
    p.add_argument("--anchor", type=float, default=None,
                   help="for fakes: the fake-server's --anchor (Unix time where simulated "
                        "time equals real time); use with --time-scale")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``flowapi`` command; returns the exit code."""
    try:
        import rich  # noqa: F401
    except ImportError:
        print("flowapi: the command needs the 'cli' extra: "
              f"pip install '{DISTRIBUTION}[cli]'",
              file=sys.stderr)
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    import anyio

    from flowapi.cli._commands import COMMANDS

    try:
        return int(anyio.run(COMMANDS.get(args.command, COMMANDS["endpoint"]), args))
    except KeyboardInterrupt:
        from flowapi.cli._interrupt import interrupt_message

        message, code = interrupt_message(args)
        print(f"flowapi: {message}", file=sys.stderr)
        return code


def _setup_logging(verbose: int) -> None:
    if not verbose:
        return
    from rich.logging import RichHandler

    handler = RichHandler(show_path=False, console=None)
    logger = logging.getLogger("flowapi")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    if verbose > 1:
        logging.getLogger("aiohttp").setLevel(logging.DEBUG)
        logging.getLogger("aiohttp").addHandler(handler)


def env_token() -> str | None:
    """``$USEAPI_TOKEN`` or ``None``."""
    return os.environ.get("USEAPI_TOKEN")
