"""Shared fixtures: an in-process FakeFlowServer and a FlowSession pointed at it.

Simulated time runs 1000× faster than real time (``time_scale=0.001``): a 120 s video job
takes 0.12 s, a 2 s poll interval 2 ms. Client and fake share one ScaledClock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowapi import FlowSession, RetryBudget, RetryPolicy
from flowapi.testing import FakeFlowServer
from tests.conftest_postgres import (  # noqa: F401  (fixtures, hook)
    postgres_admin_dsn,
    postgres_database,
    postgres_dsn,
    pytest_collection_modifyitems,
)
from tests.conftest_replay import replay  # noqa: F401  (the `replay` fixture)

TIME_SCALE = 0.001


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def fake() -> AsyncIterator[FakeFlowServer]:
    async with FakeFlowServer(time_scale=TIME_SCALE, seed=1) as server:
        yield server


@pytest.fixture
async def flow(fake: FakeFlowServer) -> AsyncIterator[FlowSession]:
    async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                           retry=RetryPolicy(attempts=4, max_inline_wait=30.0),
                           retry_budget=RetryBudget(capacity=1000)) as session:
        yield session
