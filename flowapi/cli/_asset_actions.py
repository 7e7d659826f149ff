"""The ``flowapi assets`` commands of the routes added after June 2026
(api-update-2026-h2 §1–§4): ``get``, ``projects``, ``media`` and ``delete``.

``delete`` is permanent: it asks on the terminal before sending anything unless ``--yes``
is given, and refuses to run unattended (stdin not a terminal) without ``--yes``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowapi._session import FlowSession
from flowapi.cli._endpoint_actions import EXIT_FAILED, EXIT_OK, Action
from flowapi.cli._endpoint_output import Output, info
from flowapi.cli._endpoint_params import UsageError
from flowapi.resources.assets import AssetDeleteReport
from flowapi.types._base import wire_builtins
from flowapi.types.assets import AssetProjectsPage

__all__ = ["assets_delete", "assets_projects", "delete_report_json", "read_ids"]


def assets_projects(args: argparse.Namespace, out: Output) -> Action:
    """``assets projects EMAIL [--cursor C] [--all]``: one page as the API sent it, or with
    ``--all`` every page followed and merged per ``projectId``."""
    async def action(flow: FlowSession) -> int:
        if not args.all:
            out.emit(await flow.assets.list_projects(args.email, cursor=args.cursor))
            return EXIT_OK
        pages = [p async for p in flow.assets.iter_projects(args.email, cursor=args.cursor)]
        out.emit({"projects": wire_builtins(AssetProjectsPage.merge(pages)),
                  "pages": len(pages),
                  "scanned": sum(p.scanned or 0 for p in pages)})
        return EXIT_OK
    return action


def read_ids(args: argparse.Namespace) -> list[str]:
    """The ids of ``assets delete``: the arguments, then ``--ids-file`` (one per line,
    ``#`` comments and blank lines skipped; ``-`` reads stdin)."""
    ids = list(args.ids or [])
    if args.ids_file is not None:
        try:
            text = (sys.stdin.read() if str(args.ids_file) == "-"
                    else Path(args.ids_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--ids-file {args.ids_file}: {exc}") from exc
        ids += [line.strip() for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    if not ids:
        raise UsageError("give the mediaGenerationIds to delete (arguments or --ids-file)")
    return ids


def delete_report_json(report: AssetDeleteReport) -> dict[str, Any]:
    """The report of ``assets delete`` as JSON builtins: one entry per call."""
    calls = []
    for call in report.calls:
        entry: dict[str, Any] = {"ids": call.ids, "sent": call.sent, "ok": call.ok}
        if call.result is not None:
            entry["response"] = wire_builtins(call.result)
        if call.error is not None:
            entry["error"] = str(call.error)
        calls.append(entry)
    return {"email": report.email, "ok": report.ok, "deleted": len(report.deleted),
            "notDeleted": report.not_deleted, "calls": calls}


def _confirm(count: int, email: str) -> bool:
    if not sys.stdin.isatty():
        raise UsageError("DELETE assets is permanent; stdin is not a terminal, so pass --yes "
                         "to confirm")
    sys.stderr.write(f"Permanently delete {count} media item(s) from {email}? This cannot be "
                     "undone (download first with `flowapi assets get`). [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def assets_delete(args: argparse.Namespace, out: Output) -> Action:
    """``assets delete EMAIL ID... [--ids-file F] [--project-id P] [--yes]``."""
    ids = read_ids(args)
    if not args.yes and not _confirm(len(dict.fromkeys(ids)), args.email):
        raise UsageError("not confirmed; nothing was deleted")

    async def action(flow: FlowSession) -> int:
        report = await flow.assets.delete(args.email, ids, confirm=True,
                                          project_id=args.project_id)
        out.emit(delete_report_json(report))
        if not report.ok:
            info(f"{len(report.not_deleted)} id(s) not deleted: {report.error}", out.token)
            return EXIT_FAILED
        return EXIT_OK
    return action
