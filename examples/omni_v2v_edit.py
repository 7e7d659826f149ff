"""Edit an existing MP4 with Gemini Omni Flash (video-to-video), then download the result.

Calls POST /assets (``Content-Type: video/mp4``), POST /videos with ``async: true``
(``model: omni-flash``, ``referenceVideo_1`` + ``startFrameIndex_1``/``endFrameIndex_1``,
no ``duration``: the output is as long as the trim window, at most 10 s), GET /jobs/{jobid}
until done, and fetches the signed video URL.

Runs against the real API when USEAPI_TOKEN is set, otherwise against an embedded
FakeFlowServer (FLOWAPI_DEMO_TIME_SCALE sets its speed, default 0.02 = 50x faster):

    python examples/omni_v2v_edit.py [OUT_DIR] [SOURCE.mp4]
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import flowapi
import flowapi.testing
from flowapi.testing import demo_session, sample_media

SAMPLE_MP4 = sample_media("sample.mp4")
FPS, MAX_FRAMES = 24, 240  # V2V trims on a 24 fps timeline; 240 frames = the 10 s maximum


async def main(out_dir: Path, source: Path = SAMPLE_MP4) -> int:
    async with demo_session() as flow:
        clip = await flow.assets.upload(source, content_type="video/mp4")
        seconds = clip.duration_seconds  # None if the server did not say: it then trims itself
        end_frame = max(1, min(round(seconds * FPS), MAX_FRAMES)) if seconds else flowapi.UNSET
        print(f"uploaded {source.name} ({seconds} s): editing frames 0..{end_frame}")

        job = await flow.jobs.submit(flowapi.VideoParams(
            prompt="Turn it into a hand-painted watercolor animation; keep the camera motion",
            model="omni-flash",
            reference_video=clip.media_generation_id,
            start_frame_index=0,
            end_frame_index=end_frame,
        ))
        try:
            done = await flow.jobs.wait(job.jobid, model="omni-flash", timeout=900)
        except flowapi.JobFailedError as exc:
            # V2V moderation is not deterministic: one plain resubmit often clears it.
            print(f"failed ({exc.reason}): {exc}")
            return 1
        except flowapi.JobTimeoutError as exc:
            print(f"still running: {exc}")
            return 1

        for i, item in enumerate(done.media, start=1):
            print(f"saved {await flow.media.download(item, out_dir / f'v2v-{i}.mp4')}")
        return 0


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "v2v-out")
    source = Path(sys.argv[2]) if len(sys.argv) > 2 else SAMPLE_MP4
    raise SystemExit(anyio.run(main, target, source))
