"""Submit a few videos with FlowSession + JobWatcher and download the results.

Runs against the real API when USEAPI_TOKEN is set, otherwise against an embedded
FakeFlowServer (simulated time runs 50x faster), so it works anywhere:

    python examples/quickstart.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import flowapi
from flowapi.testing import demo_session

PROMPTS = [
    ("A hummingbird hovering over a red flower, macro, slow motion", "veo-3.1-fast"),
    ("Waves rolling onto a black sand beach at sunset, aerial shot", "veo-3.1-lite"),
    ("A paper boat drifting down a rain gutter, close-up", "omni-flash"),
]


async def main(out_dir: Path) -> int:
    async with demo_session() as flow:
        failures = 0
        async with flow.watch(max_in_flight=8) as watcher:
            for prompt, model in PROMPTS:
                await watcher.submit(flowapi.VideoParams(prompt=prompt, model=model), tag=prompt)
            watcher.close()
            async for outcome in watcher:
                match outcome:
                    case flowapi.JobSucceeded(job=job, tag=tag):
                        for i, item in enumerate(job.media, start=1):
                            name = flowapi.safe_filename(job.jobid, suffix=f"-{i}.mp4")
                            path = await flow.media.download(item, out_dir / name)
                            print(f"ok     {tag!r} -> {path}")
                    case flowapi.JobFailed(error=error, tag=tag):
                        failures += 1
                        print(f"failed {tag!r}: {error}")
        return 1 if failures else 0


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "quickstart-out")
    raise SystemExit(anyio.run(main, target))
