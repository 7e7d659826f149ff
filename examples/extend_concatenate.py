"""Generate a Veo clip, extend it by ~8 s, and join both into one MP4.

Calls POST /videos and POST /videos/extend with ``async: true``, GET /jobs/{jobid} until
each is done, then POST /videos/concatenate (the extension starts with a ~1 s overlap of
the original, so it is trimmed with ``trimStart: 1``) and writes the base64 MP4.

Runs against the real API when USEAPI_TOKEN is set, otherwise against an embedded
FakeFlowServer (FLOWAPI_DEMO_TIME_SCALE sets its speed, default 0.02 = 50x faster):

    python examples/extend_concatenate.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import flowapi
from flowapi.testing import demo_session

MODEL = "veo-3.1-fast"  # only Veo videos can be extended


async def main(out_dir: Path) -> int:
    async with demo_session() as flow:
        async def generate(params: flowapi.VideoParams | flowapi.ExtendParams) -> str:
            job = await flow.jobs.submit(params)
            done = await flow.jobs.wait(job.jobid, model=MODEL, timeout=900)
            return done.media[0].media_generation_id

        try:
            original = await generate(flowapi.VideoParams(
                prompt="A red kite rises over a windy hilltop at sunrise, wide shot", model=MODEL))
            print(f"original   {original}")
            extension = await generate(flowapi.ExtendParams(
                media_generation_id=original, model=MODEL,
                prompt="The kite string snaps and the kite drifts away over the valley"))
            print(f"extension  {extension}")
        except flowapi.JobError as exc:
            print(f"failed: {exc}")
            return 1

        joined = await flow.videos.concatenate([
            flowapi.ConcatClip(media_generation_id=original),
            flowapi.ConcatClip(media_generation_id=extension, trim_start=1),
        ])
        if not joined.encoded_video:
            print(f"concatenate failed: {joined.status}")
            return 1
        path = await flow.media.save_base64(joined.encoded_video, out_dir / "joined.mp4")
        print(f"saved {path} ({joined.inputs_count} clips)")
        return 0


if __name__ == "__main__":
    raise SystemExit(anyio.run(main, Path(sys.argv[1] if len(sys.argv) > 1 else "extend-out")))
