"""Upscale a video to 1080p with a GIF preview, and generate + upscale an image.

Calls POST /videos and POST /videos/upscale with ``async: true``, GET /jobs/{jobid} until
each is done, POST /videos/gif (base64 ``encodedGif``), POST /images (synchronous,
``nano-banana-pro``) and POST /images/upscale (base64 ``encodedImage``).

Runs against the real API when USEAPI_TOKEN is set, otherwise against an embedded
FakeFlowServer (FLOWAPI_DEMO_TIME_SCALE sets its speed, default 0.02 = 50x faster):

    python examples/upscale_gif.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import flowapi
from flowapi.testing import demo_session


async def main(out_dir: Path) -> int:
    async with demo_session() as flow:
        try:
            job = await flow.jobs.submit(flowapi.VideoParams(
                prompt="A steam train crossing a stone viaduct in autumn, drone shot",
                model="veo-3.1-fast"))
            video = (await flow.jobs.wait(job.jobid, model="veo-3.1-fast", timeout=900)).media[0]
            job = await flow.jobs.submit(flowapi.VideoUpscaleParams(
                media_generation_id=video.media_generation_id, resolution="1080p"))
            upscaled = await flow.jobs.wait(job.jobid, kind="upscale", timeout=900)
        except flowapi.JobError as exc:
            print(f"failed: {exc}")
            return 1
        # A repeated upscale may come back as inline base64; download() handles both shapes.
        print(f"saved {await flow.media.download(upscaled.media[0], out_dir / 'video-1080p.mp4')}")

        gif = await flow.videos.gif(video.media_generation_id)
        print(f"saved {await flow.media.save_base64(gif.encoded_gif, out_dir / 'preview.gif')}")

        # Images are synchronous; only nano-banana-pro / nano-banana-2 images can be upscaled.
        images = await flow.images.create(flowapi.ImageParams(
            prompt="A cozy reading nook with a rain-streaked window, soft lamp light",
            model="nano-banana-pro", aspect_ratio="16:9", count=1))
        image = images.media[0]
        print(f"saved {await flow.media.download(image, out_dir / 'image.jpg')}")
        big = await flow.images.upscale(flowapi.ImageUpscaleParams(
            media_generation_id=image.media_generation_id, resolution="2k"))
        print(f"saved {await flow.media.save_base64(big.encoded_image, out_dir / 'image-2k.jpg')}")
        return 0


if __name__ == "__main__":
    raise SystemExit(anyio.run(main, Path(sys.argv[1] if len(sys.argv) > 1 else "upscale-out")))
