"""The FakeFlowServer in a separate process: ``flowapi fake-server`` as a subprocess.

Client and fake share ``--time-scale`` and ``--anchor`` so both compute the same simulated
Unix time; ground truth (every request and job, simulated seconds) comes from
``GET /_fake/state``.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

TOKEN = "user:1234-fake-token"


def _flowapi_command() -> list[str]:
    exe = Path(sys.executable).with_name("flowapi")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("flowapi")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from flowapi.cli import main; sys.exit(main())"]


class FakeProcess:
    """``with FakeProcess(time_scale, anchor) as fake:`` — a fake-server subprocess
    (``faults``: a ``--faults`` spec, e.g. ``"slow{delay=5}@POST videos"``)."""

    def __init__(self, time_scale: float, anchor: float, *, seed: int = 1,
                 faults: str | None = None) -> None:
        self.time_scale = time_scale
        self.anchor = anchor
        self.seed = seed
        self.faults = faults
        self.command = [*_flowapi_command(), "fake-server", "--port", "0", "--media-port", "0",
                        "--time-scale", repr(time_scale), "--anchor", repr(anchor),
                        "--seed", str(seed)]
        if faults:
            self.command += ["--faults", faults]
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> FakeProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"fake-server exited: {self.proc.wait()}")
            if " at http" in line:
                self.base_url = line.split(" at ", 1)[1].strip()
                break
        else:
            raise RuntimeError("fake-server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def admin(self) -> str:
        return self.base_url.split("/v1/", 1)[0]

    def state(self) -> dict[str, Any]:
        """``GET /_fake/state`` (every request and job, simulated seconds)."""
        with urllib.request.urlopen(self.admin + "/_fake/state", timeout=120) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the fake process used so far (Linux /proc)."""
        assert self.proc is not None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


def route_counts(state: dict[str, Any]) -> collections.Counter[str]:
    """API requests on the fake per route, from its ground truth (``GET /_fake/state``),
    admin routes and media downloads excluded."""
    return collections.Counter(r["route"] for r in state["requests"]
                               if r["route"] not in ("ADMIN", "GET media"))


def request_split(routes: collections.Counter[str]) -> dict[str, int]:
    """:func:`route_counts` by kind: ``submit`` (``POST videos…``), ``per_job``
    (``GET jobs/{jobid}``), ``listing`` (``GET jobs``), ``other`` and ``total``."""
    submit = sum(c for r, c in routes.items() if r.startswith("POST videos"))
    per_job = routes.get("GET jobs/{jobid}", 0)
    listing = routes.get("GET jobs", 0)
    total = sum(routes.values())
    return {"submit": submit, "per_job": per_job, "listing": listing,
            "other": total - submit - per_job - listing, "total": total}
