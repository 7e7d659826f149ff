"""Benchmarks of the JobWatcher against the FakeFlowServer in a separate process (DESIGN §10).

Entry point: ``python -m benchmarks.run --n 10 100 1000 10000`` (``--quick`` for a smoke run);
see :mod:`benchmarks.run`. The decode micro-benchmark is :mod:`benchmarks.decode`.
Benchmarks are not tests: nothing here is asserted in ``tests/``.
"""
