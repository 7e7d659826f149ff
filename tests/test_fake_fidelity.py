"""Where the fake used to be kinder than the real service (issue 10 §5–§6): urllib's default
User-Agent is refused with Cloudflare's 403 error 1010 (supplement §1.1), media match the
request (aspect ratio, length), fault injection is reproducible from ``seed``, and the
README's fault example does not park the only account on its first request.

The plain-``urllib`` client below is written the way useapi's own Python samples are (a
``urllib.request.Request`` with a bearer token and a JSON body, submit then poll): with no
``User-Agent`` it gets what the real edge answers, with one it works end to end.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest

from flowapi import FlowSession, ImageParams, VideoParams
from flowapi.testing import FakeFlowServer, parse_faults
from flowapi.testing._media import MEDIA_DIR
from flowapi.testing._sniff import sniff

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]


# -- a plain urllib client, as in the vendor's Python samples ---------------------------------


def _call(base: str, token: str, method: str, path: str, body: Any = None,
          user_agent: str | None = None) -> tuple[int, str]:
    """One request with urllib; ``user_agent=None`` leaves urllib's default in place."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _sample_script(base: str, token: str, user_agent: str | None) -> dict[str, Any]:
    """Submit an async job, poll it to the end, download the video: the vendor's flow."""
    status, text = _call(base, token, "POST", "videos", {
        "prompt": "A fox in the snow", "model": "veo-3.1-lite", "aspectRatio": "portrait",
        "async": True}, user_agent)
    if status != 201:
        return {"status": status, "text": text}
    jobid = json.loads(text)["jobid"]
    for _ in range(2000):
        status, text = _call(base, token, "GET", f"jobs/{jobid}", None, user_agent)
        job = json.loads(text)
        if job["status"] in ("completed", "failed"):
            break
    video_url = job["response"]["media"][0]["videoUrl"]
    with urllib.request.urlopen(video_url, timeout=10) as resp:
        clip = resp.read()  # the media host does not care about the User-Agent
    return {"status": 201, "job": job, "clip": clip}


async def test_plain_urllib_client_gets_what_the_real_service_gives() -> None:
    async with FakeFlowServer(time_scale=0.001) as fake:
        refused = await anyio.to_thread.run_sync(_sample_script, fake.base_url, fake.token, None)
        assert refused == {"status": 403, "text": "error code: 1010"}
        assert not fake.jobs  # nothing was created, nothing paid
        worked = await anyio.to_thread.run_sync(_sample_script, fake.base_url, fake.token,
                                                "ugc-product-video.py")
        assert worked["job"]["status"] == "completed"
        assert sniff(worked["clip"], "video/mp4")[:2] == (18, 32)  # portrait, as asked
        assert fake.counters["cloudflare_1010"] == 1


async def test_the_user_agent_block_can_be_turned_off_and_spares_media_and_admin() -> None:
    async with FakeFlowServer(time_scale=0.001, block_default_user_agents=False) as fake:
        status, _ = await anyio.to_thread.run_sync(
            _call, fake.base_url, fake.token, "GET", "accounts")
        assert status == 200
    async with FakeFlowServer(time_scale=0.001) as fake:
        admin = fake.base_url.split("/v1/")[0] + "/_fake/state"
        def read_admin() -> int:
            with urllib.request.urlopen(admin, timeout=10) as resp:
                return int(resp.status)
        assert await anyio.to_thread.run_sync(read_admin) == 200


async def test_the_sdk_sends_its_own_user_agent(fake: FakeFlowServer, flow: FlowSession) -> None:
    await flow.accounts.list()
    assert fake.requests[-1].user_agent is not None
    assert fake.requests[-1].user_agent.startswith("flowapi/")


# -- media match the request ---------------------------------------------------------------


@pytest.mark.parametrize(("model", "aspect", "duration", "size"), [
    ("veo-3.1-lite", "portrait", 8, (18, 32)),
    ("veo-3.1-fast", "1:1", 4, (16, 16)),
    ("omni-flash", "landscape", 10, (32, 18)),
    ("omni-flash-1.2", "portrait", 13, (18, 32)),
])
async def test_videos_match_aspect_and_length(flow: FlowSession, tmp_path: Path, model: str,
                                              aspect: str, duration: int,
                                              size: tuple[int, int]) -> None:
    job = await flow.jobs.submit(VideoParams(prompt="p", model=model, aspect_ratio=aspect,
                                             duration=duration))
    done = await flow.jobs.wait(job.jobid)
    clip = await flow.media.download(done.media[0], tmp_path / "clip.mp4")
    width, height, seconds = sniff(clip.read_bytes(), "video/mp4") or (0, 0, None)
    assert (width, height) == size
    assert seconds == pytest.approx(duration)
    thumb = await flow.media.download(done.media[0], tmp_path / "t.jpg", thumbnail=True)
    assert sniff(thumb.read_bytes(), "image/jpeg")[:2] == size  # type: ignore[index]


async def test_images_match_aspect(flow: FlowSession, tmp_path: Path) -> None:
    for ratio, size in (("9:16", (18, 32)), ("16:9", (32, 18)), ("3:4", (24, 32))):
        result = await flow.images.create(ImageParams(prompt="p", aspect_ratio=ratio, count=1))
        saved = await flow.media.download(result.media[0], tmp_path / f"{ratio[0]}.jpg")
        assert sniff(saved.read_bytes(), "image/jpeg")[:2] == size  # type: ignore[index]


def test_bundled_media_are_tiny_and_play() -> None:
    files = sorted(MEDIA_DIR.glob("video-*.mp4")) + sorted(MEDIA_DIR.glob("image-*.jpg"))
    assert len(files) == 5 * 15 + 5
    for path in files:
        assert path.stat().st_size < 4096, path.name
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe not installed")
    for path in files:
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
             "-of", "json", str(path)], capture_output=True, text=True, check=True)
        stream = json.loads(probe.stdout)["streams"][0]
        assert stream["codec_name"] in ("h264", "mjpeg"), path.name


# -- reproducible faults and the README example -------------------------------------------


async def _outcomes(seed: int, spec: str, n: int = 12) -> list[int]:
    statuses = []
    async with FakeFlowServer(time_scale=0.001, seed=seed, faults=spec,
                              sticky_quarantine=False) as fake:
        async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                               validate=False) as flow:
            for _ in range(n):
                try:
                    await flow.accounts.list(extra_headers={"X-N": "1"})
                    statuses.append(200)
                except Exception as exc:
                    statuses.append(int(getattr(exc, "status_code", 0)))
        assert fake.state()["faults"]
    return statuses


async def test_seed_makes_fault_injection_reproducible() -> None:
    spec = "poll_500:0.4@GET accounts"
    first = await _outcomes(11, spec)
    assert first == await _outcomes(11, spec)
    assert first != await _outcomes(12, spec)
    assert parse_faults(spec, seed=5).seed == 5
    assert parse_faults("seed=9, " + spec, seed=5).seed == 9  # an explicit seed wins


def _readme_fault_spec() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r'parse_faults\("([^"]+)"\)', text)
    assert match, "README has a fault example"
    return match.group(1)


async def test_readme_fault_example_does_not_park_the_only_account_at_once() -> None:
    spec = _readme_fault_spec()
    async with (FakeFlowServer(time_scale=0.001, faults=parse_faults(spec)) as fake,
                FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow):
        job = await flow.jobs.submit(VideoParams(prompt="first", model="veo-3.1-lite"))
        assert job.jobid
        assert not flow.transport.lanes.blocked(None, None, fake.clock.time())
    cli = re.search(r"--faults\s+'([^']+)'", (ROOT / "README.md").read_text())
    assert cli is not None
    async with (FakeFlowServer(time_scale=0.001, faults=parse_faults(cli.group(1))) as fake,
                FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock) as flow):
        assert (await flow.jobs.submit(VideoParams(prompt="first"))).jobid


def _ugc_pipeline(base: str, token: str) -> dict[str, Any]:
    """The request sequence of useapi's UGC sample (Sep 2026), with its named User-Agent:
    images (sheet, portraits), a character, a still with character_1 + reference_N, an
    omni-flash clip with the still as startImage AND endImage (10 s, 720p, async), a 1080p
    upscale and a concatenation."""
    ua = "ugc-product-video.py"

    def post(path: str, body: dict[str, Any]) -> Any:
        status, text = _call(base, token, "POST", path, body, ua)
        assert status in (200, 201), (path, status, text)
        return json.loads(text)

    def image_id(result: Any) -> str:
        return str(result["media"][0]["image"]["generatedImage"]["mediaGenerationId"])

    sheet = image_id(post("images", {"prompt": "a product sheet", "count": 1}))
    front = image_id(post("images", {"prompt": "a presenter", "count": 1,
                                     "aspectRatio": "9:16"}))
    three_quarter = image_id(post("images", {"prompt": "three-quarter", "count": 1,
                                             "reference_1": front}))
    character = post("characters", {"displayName": "Mia", "imageReference_1": front,
                                    "imageReference_2": three_quarter, "voice": "Umbriel"})
    still = image_id(post("images", {"prompt": "@character_1 holds @reference_1", "count": 1,
                                     "aspectRatio": "9:16", "character_1": character["character"],
                                     "reference_1": sheet}))
    clips = []
    for _ in range(2):
        job = post("videos", {"model": "omni-flash", "prompt": "she says: try it",
                              "aspectRatio": "portrait", "duration": 10, "resolution": "720p",
                              "startImage": still, "endImage": still, "async": True})
        while True:
            _, text = _call(base, token, "GET", f"jobs/{job['jobid']}", None, ua)
            record = json.loads(text)
            if record["status"] in ("completed", "failed"):
                break
        assert record["status"] == "completed", record
        clips.append(record["response"]["media"][0]["mediaGenerationId"])
    upscaled = [post("videos/upscale", {"mediaGenerationId": c, "resolution": "1080p"})
                ["media"][0]["mediaGenerationId"] for c in clips]
    joined = post("videos/concatenate", {"media": [{"mediaGenerationId": u} for u in upscaled]})
    return {"clips": clips, "upscaled": upscaled, "joined": joined}


async def test_vendor_ugc_pipeline_runs_against_the_fake() -> None:
    async with FakeFlowServer(time_scale=0.001) as fake:
        out = await anyio.to_thread.run_sync(_ugc_pipeline, fake.base_url, fake.token)
    assert all(u == c + "_upsampled" for c, u in zip(out["clips"], out["upscaled"], strict=True))
    assert out["joined"]["encodedVideo"]


def test_fake_server_command_passes_seed_and_user_agent_switch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import flowapi.testing
    from flowapi.cli import main

    seen: dict[str, Any] = {}

    async def fake_run(**kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(flowapi.testing, "run_fake_server", fake_run)
    assert main(["fake-server", "--seed", "5", "--faults", "throttled:0.1"]) == 0
    assert seen["faults"].seed == 5 and seen["seed"] == 5
    assert seen["block_default_user_agents"] is True
    assert main(["fake-server", "--faults", "seed=9, throttled:0.1",
                 "--allow-urllib-user-agent"]) == 0
    assert seen["faults"].seed == 9
    assert seen["block_default_user_agents"] is False
