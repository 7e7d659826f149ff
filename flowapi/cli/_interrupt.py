"""What ``flowapi`` says when Ctrl-C stops a command (issue 12 §4): only what is true for
that command.

* ``batch`` keeps a journal, so running it again resumes;
* a synchronous generation (``videos create`` without ``--async``, ``images create``, …)
  was already sent: the job may still complete and spend credits; it shows in
  ``GET /jobs?options=executing`` while it runs and ``options=history`` for 15 minutes
  after (supplement §3, GET /jobs);
* ``--async --wait`` and ``jobs wait`` leave a job that keeps running: ``jobs wait`` again;
* stopping ``fake-server`` is its normal end, not an interruption.
"""

from __future__ import annotations

import argparse

__all__ = ["EXIT_INTERRUPTED", "interrupt_message"]

EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), except for ``fake-server`` (0)."""

_FIND_JOB = ("find it with `flowapi jobs stats --options executing` while it runs or "
             "`--options history` (recent jobs, 15 minutes), then `flowapi jobs get JOBID`")


def interrupt_message(args: argparse.Namespace) -> tuple[str, int]:
    """The stderr line and exit code for a Ctrl-C during the command parsed into ``args``."""
    command = getattr(args, "command", None)
    if command == "fake-server":
        return "fake server stopped", 0
    if command == "batch":
        return ("interrupted; run the same command again to resume (finished work is "
                "skipped, nothing is submitted twice)"), EXIT_INTERRUPTED
    if command == "demo":
        return ("demo interrupted (each demo runs on a new embedded fake server; run it "
                "again to start over)"), EXIT_INTERRUPTED
    action = getattr(args, f"{command}_command", None) if command else None
    if command == "jobs" and action == "wait":
        return ("interrupted; the job keeps running on the server: run "
                f"`flowapi jobs wait {args.jobid}` again to pick it up"), EXIT_INTERRUPTED
    if getattr(args, "async_mode", False):
        if getattr(args, "wait", False):
            return ("interrupted; the job keeps running on the server: `flowapi jobs wait "
                    "JOBID` with the job id printed above"), EXIT_INTERRUPTED
        return ("interrupted; if the submit reached the server the job runs anyway: "
                + _FIND_JOB), EXIT_INTERRUPTED
    if command in ("videos", "images") and action in ("create", "extend", "upscale"):
        return (f"interrupted; the synchronous `{command} {action}` request may already "
                "have reached the server, so the job may still complete there (and spend "
                "credits): " + _FIND_JOB), EXIT_INTERRUPTED
    return "interrupted", EXIT_INTERRUPTED
