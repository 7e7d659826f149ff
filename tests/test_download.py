"""flow.media: streaming downloads, atomic files, no token to media hosts, hostile URLs."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from flowapi import DownloadError, FlowSession, InvalidParamsError, VideoParams
from flowapi.testing import FakeFlowServer, FaultRule, Faults
from tests._mp4 import assert_valid_mp4

pytestmark = pytest.mark.anyio


async def _done_job(flow: FlowSession) -> object:
    job = await flow.jobs.submit(VideoParams(prompt="x"))
    return await flow.jobs.wait(job.jobid)


async def test_download_video_and_thumbnail(flow: FlowSession, fake: FakeFlowServer,
                                            tmp_path: Path) -> None:
    done = await _done_job(flow)
    item = done.media[0]  # type: ignore[attr-defined]
    video = await flow.media.download(item, tmp_path / "deep" / "v.mp4")
    assert_valid_mp4(video)
    thumb = await flow.media.download(item, tmp_path / "t.jpg", thumbnail=True)
    assert thumb.read_bytes()[:3] == b"\xff\xd8\xff"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["t.jpg", "v.mp4"]
    assert fake.state()["counters"]["media_requests_with_auth"] == 0


async def test_truncated_media_leaves_no_file(flow: FlowSession, fake: FakeFlowServer,
                                              tmp_path: Path) -> None:
    done = await _done_job(flow)
    fake.set_faults(Faults(rules=[FaultRule("truncated_media", count=1)]))
    target = tmp_path / "v.mp4"
    with pytest.raises(DownloadError, match=r"truncated|cut short"):
        await flow.media.download(done.media[0], target)  # type: ignore[attr-defined]
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    await flow.media.download(done.media[0], target)  # type: ignore[attr-defined]
    assert_valid_mp4(target)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/v.mp4",
                                 "http://example.com/v.mp4", "data:video/mp4;base64,AAAA",
                                 "javascript:alert(1)"])
async def test_hostile_urls_refused(flow: FlowSession, tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match="refusing"):
        await flow.media.download(url, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


async def test_expired_url_says_what_to_do(flow: FlowSession, fake: FakeFlowServer,
                                           tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="expire") as info:
        await flow.media.download(fake.media_base_url + "video/nope.mp4?Expires=1",
                                  tmp_path / "x.mp4")
    assert "Expires" not in str(info.value)  # signed query strings are not echoed


async def test_save_base64(flow: FlowSession, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000
    encoded = base64.b64encode(payload).decode()
    out = await flow.media.save_base64(encoded, tmp_path / "x.bin")
    assert out.read_bytes() == payload
    with pytest.raises(InvalidParamsError, match="base64"):
        await flow.media.save_base64("not*base64!", tmp_path / "y.bin")
    assert not (tmp_path / "y.bin").exists()
