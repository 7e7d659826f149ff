"""Implementations of ``flowapi batch``, ``demo`` and ``fake-server``."""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console

from flowapi._errors import AuthenticationError, FlowError, PaymentRequiredError
from flowapi._session import FlowSession
from flowapi.cli._arg_types import journal_target
from flowapi.cli._batch import (
    JOURNAL_NAME,
    BatchOptions,
    BatchResult,
    BatchRunner,
    parse_categories,
    plain_error,
)
from flowapi.cli._display import BatchDisplay, summary_table
from flowapi.cli._dry_run import (
    account_for_estimate,
    price_prompts,
    print_dry_run,
)
from flowapi.cli._prompts import PromptFileError, PromptSpec, load_prompts
from flowapi.journal import JOURNAL_ENV

__all__ = ["COMMANDS", "run_batch_ui"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FATAL = 0, 1, 2, 3


def _console() -> Console:
    return Console(highlight=False)


def _options(args: argparse.Namespace) -> BatchOptions:
    journal = args.journal
    if journal is None and os.environ.get(JOURNAL_ENV, "").strip():
        journal = journal_target(os.environ[JOURNAL_ENV])
    return BatchOptions(out_dir=args.out,
                        journal_path=journal if isinstance(journal, Path) else None,
                        journal_url=journal if isinstance(journal, str) else None,
                        namespace=args.namespace, lease=args.lease, email=args.email,
                        max_in_flight=args.max_in_flight, mode=args.mode,
                        job_timeout=args.job_timeout, thumbnails=not args.no_thumbnails,
                        resubmit_moderated=args.resubmit_moderated,
                        retry_failed=(parse_categories(args.retry_failed)
                                      if args.retry_failed is not None else frozenset()),
                        resubmit_in_doubt=args.resubmit_in_doubt,
                        max_credits=args.max_credits)


async def run_batch_ui(flow: FlowSession, specs: list[PromptSpec], options: BatchOptions,
                       console: Console, *, resumable: bool = True,
                       ) -> tuple[int, list[BatchResult]]:
    """Run a batch with live progress and print the summary; returns (exit code, results).

    ``resumable=False`` (the demo, whose fake starts empty each time) leaves out the
    "run the same command again to resume" hint.
    """
    options.out_dir.mkdir(parents=True, exist_ok=True)
    display = BatchDisplay(console, len(specs))
    runner = BatchRunner(flow, specs, options, display)
    await runner.preflight()  # journal and budget problems print before any progress
    with display:
        async with anyio.create_task_group() as tg:
            async def refresh() -> None:
                while True:
                    display.refresh()
                    await anyio.sleep(0.25)

            tg.start_soon(refresh)
            try:
                results = await runner.run()
            finally:
                tg.cancel_scope.cancel()
    console.print(summary_table(results, options.out_dir))
    ok = sum(1 for r in results if r.status == "succeeded")
    files = sum(len(r.files) for r in results)
    console.print(f"{ok}/{len(results)} prompts succeeded, {files} files in "
                  f"[bold]{options.out_dir.resolve()}[/]")
    remaining = [r.remaining_credits for r in results if r.remaining_credits is not None]
    by = "this batch (all processes and runs; " if runner.shared is not None else "this run ("
    credits = (f"credits: ~{runner.credits_committed:,.0f} committed by {by}estimated"
               + (")" if runner.credits_priced_for_account else
                  " at the highest plan price)"))
    if remaining:
        credits += f", {min(remaining):,.0f} left on the account (from the job records)"
    console.print(credits)
    journal = options.journal_label
    if ok < len(results) and resumable:
        in_doubt = sum(1 for r in results if r.category == "in_doubt")
        console.print(f"journal: {journal} — run the same command again to resume "
                      "(finished work is skipped, nothing is submitted twice; running jobs "
                      "and in-doubt submits are looked up again)")
        if in_doubt:
            console.print(f"{in_doubt} prompt(s) in doubt: their jobs may have been created "
                          "and paid. A rerun looks for them again; --resubmit-in-doubt sends "
                          "them anyway (may pay twice)")
    return (EXIT_OK if ok == len(results) else EXIT_FAILED), results


async def _dry_run(args: argparse.Namespace, specs: list[PromptSpec], kwargs: dict[str, Any],
                   console: Console) -> int:
    """``batch --dry-run``: print the cost per prompt and in total; submit nothing. Without
    a token the prices are per tier (no request at all)."""
    email, account = args.email, None
    try:
        session = FlowSession(args.token, **kwargs)
    except FlowError:
        session = None  # no token: per tier
    if session is not None:
        async with session as flow:
            email, account = await account_for_estimate(flow, args.email)
    print_dry_run(console, price_prompts(specs, account), account, email)
    return EXIT_OK


async def _batch(args: argparse.Namespace) -> int:
    console = _console()
    if args.out is None and not args.dry_run:
        console.print("[red]error:[/] flowapi batch needs --out DIR (or --dry-run)")
        return EXIT_USAGE
    try:
        specs = load_prompts(args.prompts)
    except PromptFileError as exc:
        console.print(f"[red]error:[/] {exc}")
        return EXIT_USAGE
    kwargs: dict[str, Any] = {}
    if args.base_url:
        kwargs["base_url"] = args.base_url
    if args.time_scale is not None:  # for fakes: share the fake-server's simulated clock
        from flowapi._clock import ScaledClock

        try:
            kwargs["clock"] = ScaledClock(args.time_scale, anchor=args.anchor)
        except ValueError as exc:
            console.print(f"[red]error:[/] --time-scale: {exc}")
            return EXIT_USAGE
    if args.dry_run:
        return await _dry_run(args, specs, kwargs, console)
    try:
        async with FlowSession(args.token, **kwargs) as flow:
            try:
                code, _ = await run_batch_ui(flow, specs, _options(args), console)
            except BaseExceptionGroup as group:  # the display's task group wraps it
                fatal = plain_error(group)
                if fatal is None:
                    raise
                raise fatal from None
            return code
    except (AuthenticationError, PaymentRequiredError) as exc:
        console.print(f"[red]fatal:[/] {exc}")
        return EXIT_FATAL
    except (FlowError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        return EXIT_USAGE


def demo_prompts_path() -> Path:
    """``examples/prompts.json`` of the repository, or the copy shipped in the wheel."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "examples" / "prompts.json",
                      here.parents[1] / "_demo" / "prompts.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("examples/prompts.json not found; pass --prompts")


async def _demo(args: argparse.Namespace) -> int:
    from flowapi.testing import FakeFlowServer

    console = _console()
    try:
        prompts = args.prompts or demo_prompts_path()
        specs = load_prompts(prompts)
    except (PromptFileError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return EXIT_USAGE
    out: Path = args.out
    (out / JOURNAL_NAME).unlink(missing_ok=True)  # each demo runs against a new fake
    console.print(f"[bold]flowapi demo[/]: {len(specs)} prompts from {prompts} on an embedded "
                  f"FakeFlowServer (time scale {args.time_scale}: simulated seconds run "
                  f"{1 / args.time_scale:.0f}× faster)")
    start = anyio.current_time()
    async with FakeFlowServer(time_scale=args.time_scale, seed=args.seed) as fake:
        async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow:
            code, results = await run_batch_ui(flow, specs, BatchOptions(out_dir=out), console,
                                               resumable=False)
        api_requests = [r for r in fake.requests if not str(r.route).startswith(("GET media",
                                                                                   "media"))]
        by_route = Counter(str(r.route) for r in api_requests)
        jobs = len(fake.jobs)
    elapsed = anyio.current_time() - start
    console.print(f"demo finished in {elapsed:.1f} s; the fake saw {jobs} jobs and "
                  f"{len(api_requests)} API requests "
                  f"({len(api_requests) / max(1, jobs):.1f} per job): "
                  + ", ".join(f"{k} ×{v}" for k, v in sorted(by_route.items())))
    videos = [f for r in results for f in r.files if f.suffix == ".mp4"]
    if videos:  # one per line: a joined list wraps into an unreadable block at 80 columns
        console.print("videos:")
        for video in videos:
            console.print(f"  {video}", soft_wrap=True)
    return code


async def _fake_server(args: argparse.Namespace) -> int:
    from flowapi.testing import parse_faults, run_fake_server

    faults = parse_faults(args.faults, seed=args.seed) if args.faults else None
    await run_fake_server(host=args.host, port=args.port, media_port=args.media_port,
                          time_scale=args.time_scale, faults=faults, seed=args.seed,
                          token=args.token, anchor=args.anchor,
                          block_default_user_agents=not args.allow_urllib_user_agent)
    return EXIT_OK


async def _endpoint(args: argparse.Namespace) -> int:
    from flowapi.cli._endpoints import run_endpoint_command

    return await run_endpoint_command(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
    "batch": _batch,
    "demo": _demo,
    "fake-server": _fake_server,
    "endpoint": _endpoint,
}
