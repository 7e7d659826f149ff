"""Image-to-video from a first and a last frame (I2V-FL), then download video + thumbnail.

Calls POST /assets (twice), POST /videos with ``async: true`` (``startImage`` + ``endImage``),
GET /jobs/{jobid} until done, and fetches the signed video and thumbnail URLs.

Runs against the real API when USEAPI_TOKEN is set, otherwise against an embedded
FakeFlowServer (FLOWAPI_DEMO_TIME_SCALE sets its speed, default 0.02 = 50x faster):

    python examples/i2v_frames.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import flowapi
from flowapi.testing import demo_session

HERE = Path(__file__).resolve().parent


async def main(out_dir: Path) -> int:
    async with demo_session() as flow:
        first = await flow.assets.upload(HERE / "first_image.jpeg")
        # Both frames must live on the same account: pin the second upload to the first's.
        last = await flow.assets.upload(HERE / "last_image.jpeg", email=first.email)
        print(f"uploaded frames to {first.email}: {first.width}x{first.height}")

        params = flowapi.VideoParams(
            prompt="The camera glides from the first frame to the last as the light turns golden",
            model="veo-3.1-fast",
            start_image=first.media_generation_id,
            end_image=last.media_generation_id,
        )
        job = await flow.jobs.submit(params)
        print(f"submitted {job.jobid}")
        try:
            done = await flow.jobs.wait(job.jobid, model="veo-3.1-fast", timeout=900)
        except flowapi.JobError as exc:
            print(f"failed: {exc}")
            return 1

        for i, item in enumerate(done.media, start=1):
            video = await flow.media.download(item, out_dir / f"i2v-{i}.mp4")
            thumb = await flow.media.download(item, out_dir / f"i2v-{i}.jpg", thumbnail=True)
            print(f"saved {video} and {thumb}")
        return 0


if __name__ == "__main__":
    raise SystemExit(anyio.run(main, Path(sys.argv[1] if len(sys.argv) > 1 else "i2v-out")))
