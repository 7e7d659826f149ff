"""``flowapi.testing`` — a faithful in-process fake of the useapi.net Google Flow API v1.

:class:`FakeFlowServer` serves every endpoint of the API's overview page on loopback with
the status codes, bodies and headers the docs print, keeps accounts, assets, voices,
characters and jobs as state, moves jobs ``created → started → completed|failed`` on a
simulated clock, serves real media files from a second origin, POSTs ``replyUrl``
callbacks, and injects seeded faults (:class:`Faults`, :func:`parse_faults`). Ground truth
(every request and job) is available from Python (:attr:`FakeFlowServer.requests`,
:attr:`FakeFlowServer.jobs`, :meth:`FakeFlowServer.state`) and from ``GET /_fake/state``.

Example::

    from flowapi.testing import FakeFlowServer

    async with FakeFlowServer(time_scale=0.001, faults="throttled:0.1") as fake:
        ...  # point a client at fake.base_url with fake.token

Tests that assert simulated times run the fake and the client on one
:class:`AutojumpClock` (``FakeFlowServer(clock=c)``, ``FlowSession(clock=c, ...)``): time
stands still while anything runs and jumps to the next wake-up when all is quiet, so the
timestamps do not depend on machine load.

Admin routes (no auth) on the API origin: ``GET /_fake/clock`` (the simulated clock:
``{"timeScale": S, "anchor": T, "now": simulated Unix seconds}``; a
:class:`~flowapi.FlowSession` on a loopback base URL with no ``clock=`` reads it when it
opens and follows it, so clients are fast with no clock options),
``GET /_fake/state[?since=N][&jobs=0]``
(``since``: only requests with index ≥ N; ``jobs=0``: leave out the jobs map),
``POST /_fake/faults`` (body: a fault spec string; replaces the rules),
``POST /_fake/reset``.

The fake follows the documents in ``spec/``, not any client. Where they leave room, it
chooses (see each module's docstring for sources):

* Jobs: status is a pure function of simulated time (``created`` → ``started`` 1–5 s later
  → ``completed``/``failed`` at the drawn duration); records expire (410) after 7 days.
* Quarantine is sticky: a request pinned (by ``email``, by a reference, or because only one
  account exists) to an account/model under an active quarantine gets the same 429 again
  and is flagged ``into_quarantine`` (``sticky_quarantine=False`` turns the 429 off).
* The default account is an Ultra ($200 plan) account ``fake.user@gmail.com`` with
  1,000,000 credits, so long benchmarks never hit 402.
* ``POST accounts`` takes the new account's email from a cookie row named ``email``
  (fake-only convention), else ``fake.userN@gmail.com``.
* Emails are not masked in job ids, job records or statistics (the docs' ``jo***`` is
  redaction of the examples); ``sessionData.user.email`` is masked as documented.
* Faults of generation POSTs are decided in request-arrival order (an ordered gate), so a
  given seed and arrival order always inject the same faults and create the same ids.
"""

from __future__ import annotations

from ._accounts import FakeAccount
from ._autojump import AutojumpClock
from ._demo import demo_session, sample_media
from ._faults import FaultRule, Faults, parse_faults
from ._records import FakeJob, RecordedRequest
from ._server import FakeFlowServer, run_fake_server

__all__ = [
    "AutojumpClock",
    "FakeAccount",
    "FakeFlowServer",
    "FakeJob",
    "FaultRule",
    "Faults",
    "RecordedRequest",
    "demo_session",
    "parse_faults",
    "run_fake_server",
    "sample_media",
]
