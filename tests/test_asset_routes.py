"""The four asset routes added after June 2026 (api-update-2026-h2 §1–§4) through the
public session API against the stateful fake, plus the tolerant decoding of their
unpublished shapes and the refresh of expired media URLs by ``flow.media.download``."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowapi
from flowapi import FlowSession, ImageParams, RetryPolicy, VideoParams
from flowapi.testing import FakeFlowServer
from flowapi.types import AssetProjectsPage
from tests.conftest_replay import Replay

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]
FRAME = ROOT / "examples" / "first_image.jpeg"
EMAIL = "fake.user@gmail.com"


async def _video(flow: FlowSession) -> flowapi.MediaItem:
    job = await flow.jobs.submit(VideoParams(prompt="a fox", model="veo-3.1-lite"))
    done = await flow.jobs.wait(job.jobid)
    return done.media[0]


async def test_get_asset_returns_a_fresh_signed_url(flow: FlowSession, tmp_path: Path) -> None:
    upload = await flow.assets.upload(FRAME)
    fresh = await flow.assets.get(upload.media_generation_id)
    assert fresh.media_generation_id == upload.media_generation_id
    assert fresh.url.startswith("http://localhost:")
    saved = await flow.media.download(fresh.url, tmp_path / "frame.jpg")
    assert saved.read_bytes()[:3] == b"\xff\xd8\xff"


async def test_get_asset_refuses_a_character_id_locally(flow: FlowSession,
                                                        fake: FakeFlowServer) -> None:
    before = len(fake.requests)
    with pytest.raises(flowapi.InvalidParamsError, match="'image' or 'video'"):
        await flow.assets.get("user:1-email:6a6f-character:abc-imgs:1")
    assert len(fake.requests) == before


async def test_download_refreshes_an_expired_url_once(flow: FlowSession, fake: FakeFlowServer,
                                                      tmp_path: Path) -> None:
    item = await _video(flow)
    fake.advance(7 * 3600)  # media URLs live ~6 h, job records 7 days
    saved = await flow.media.download(item, tmp_path / "fox.mp4")
    assert saved.read_bytes()[4:8] == b"ftyp"
    routes = [r.route for r in fake.requests]
    assert routes.count("GET assets/{mediaGenerationId}") == 1
    assert routes[-3:] == ["GET media", "GET assets/{mediaGenerationId}", "GET media"]


async def test_download_of_deleted_media_fails_after_one_refresh(
        flow: FlowSession, fake: FakeFlowServer, tmp_path: Path) -> None:
    item = await _video(flow)
    await flow.assets.delete(EMAIL, [item.media_generation_id], confirm=True)
    with pytest.raises(flowapi.NotFoundError):
        await flow.media.download(item, tmp_path / "gone.mp4")
    assert not (tmp_path / "gone.mp4").exists()
    routes = [r.route for r in fake.requests]
    assert routes.count("GET assets/{mediaGenerationId}") == 1


async def test_projects_follow_the_cursor_and_merge() -> None:
    async with (FakeFlowServer(time_scale=0.001, seed=2, project_page=2) as small,
                FlowSession(small.token, base_url=small.base_url, clock=small.clock) as flow):
        first = small.new_project(EMAIL)
        await flow.images.create(ImageParams(prompt="one", count=3))
        second = small.new_project(EMAIL)
        await _video(flow)
        await flow.assets.upload(FRAME)  # uploads are not counted here
        pages = [p async for p in flow.assets.iter_projects(EMAIL)]
    assert len(pages) == 2
    assert pages[0].truncated is True and pages[0].cursor
    assert pages[-1].has_more is False
    merged = {p.project_id: p for p in AssetProjectsPage.merge(pages)}
    assert merged[first].by_type == {"IMAGE": 3}
    assert merged[first].total == 3
    assert merged[second].by_type == {"VIDEO": 1}
    assert merged[second].is_current is True


async def test_list_media_marks_uploads(flow: FlowSession, fake: FakeFlowServer) -> None:
    old = (await flow.assets.list_media(EMAIL)).media
    assert old == []
    upload = await flow.assets.upload(FRAME)
    item = await _video(flow)
    listing = await flow.assets.list_media(EMAIL)
    by_id = {m.media_generation_id: m for m in listing.media}
    assert by_id[upload.media_generation_id].likely_upload is True
    assert by_id[item.media_generation_id].likely_upload is False
    assert by_id[item.media_generation_id].kind == "video"
    assert listing.likely_uploads == 1
    newer = fake.new_project(EMAIL)
    other = await flow.assets.list_media(EMAIL, project_id=newer)
    assert [m.media_generation_id for m in other.media] == [upload.media_generation_id]
    with pytest.raises(flowapi.NotFoundError):
        await flow.assets.list_media(EMAIL, project_id="00000000-0000-0000-0000-000000000000")


async def test_delete_splits_at_100_and_reports_per_call(flow: FlowSession,
                                                         fake: FakeFlowServer) -> None:
    upload = await flow.assets.upload(FRAME)
    prefix = upload.media_generation_id.rsplit(":", 1)[0]
    ids = [upload.media_generation_id] + [f"{prefix}:gone-{i}" for i in range(149)]
    report = await flow.assets.delete(EMAIL, ids, confirm=True)
    assert report.ok
    assert [len(c.ids) for c in report.calls] == [100, 50]
    assert report.deleted == ids
    assert [r.status for r in fake.requests if r.route == "DELETE assets/{email}"] == [200, 200]
    with pytest.raises(flowapi.NotFoundError):
        await flow.assets.get(upload.media_generation_id)
    again = await flow.assets.delete(EMAIL, ids[:3], confirm=True)  # already gone: fine
    assert again.ok


async def test_delete_is_all_or_nothing_and_stops_after_a_failed_call(
        fake: FakeFlowServer) -> None:
    async with FlowSession(fake.token, base_url=fake.base_url, clock=fake.clock,
                           validate=False, retry=RetryPolicy.none()) as flow:
        uploads = [await flow.assets.upload(FRAME) for _ in range(2)]
        good = [u.media_generation_id for u in uploads]
        bad = good[0].split("-email:")[0] + "-email:6a6f-character:abc-imgs:1"
        filler = [f"{good[0].rsplit(':', 1)[0]}:x{i}" for i in range(99)]
        report = await flow.assets.delete(EMAIL, [good[0], *filler, good[1], bad, "c", "d"],
                                          confirm=True)
        assert [c.ok for c in report.calls] == [True, False]
        assert isinstance(report.error, flowapi.BadRequestError)
        assert good[1] in report.not_deleted
        assert (await flow.assets.get(good[1])).url  # nothing of the failed call deleted
        with pytest.raises(flowapi.NotFoundError):
            await flow.assets.get(good[0])


async def test_delete_needs_confirm_and_checks_ids_locally(flow: FlowSession,
                                                           fake: FakeFlowServer) -> None:
    upload = await flow.assets.upload(FRAME)
    before = len(fake.requests)
    with pytest.raises(flowapi.InvalidParamsError, match="confirm=True"):
        await flow.assets.delete(EMAIL, [upload.media_generation_id], confirm=False)
    with pytest.raises(flowapi.InvalidParamsError, match="belongs to account"):
        await flow.assets.delete("other@gmail.com", [upload.media_generation_id], confirm=True)
    with pytest.raises(flowapi.InvalidParamsError, match="not a mediaGenerationId"):
        await flow.assets.delete(EMAIL, ["nope"], confirm=True)
    assert len(fake.requests) == before


# -- unpublished shapes: decoded tolerantly, unknown keys kept ---------------------------


async def test_unpublished_shapes_decode_tolerantly(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.set("assets/projects/me@gmail.com", {
        "projects": [{"projectId": "p1", "total": "42", "byType": {"IMAGE": 30, "VIDEO": 12},
                      "oldest": "2026-03-02T10:11:12Z", "newest": None, "label": "x"}],
        "scanned": 500, "truncated": False, "cursor": None, "elapsedMs": 812})
    page = await flow.assets.list_projects("me@gmail.com")
    assert page.projects[0].total == 42
    assert page.projects[0].extra == {"label": "x"}
    assert page.extra == {"elapsedMs": 812}
    assert page.has_more is False
    server.set("assets/media/me@gmail.com", {
        "media": [{"mediaGenerationId": "user:1-email:6a-image:a", "likelyUpload": True,
                   "sizeBytes": 10}], "likelyUploads": 1, "complete": True})
    listing = await flow.assets.list_media("me@gmail.com")
    assert listing.media[0].extra == {"sizeBytes": 10}
    assert listing.media[0].media_type is None
    assert listing.extra == {"complete": True}
    server.set("assets/me@gmail.com", {"deletedCount": 1})
    mine = "user:1-email:" + b"me@gmail.com".hex() + "-image:a"
    report = await flow.assets.delete("me@gmail.com", [mine], confirm=True)
    assert report.ok
    result = report.calls[0].result
    assert result is not None and result.deleted is None
    assert result.extra == {"deletedCount": 1}


async def test_iter_projects_stops_on_a_repeated_cursor(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    server.set("assets/projects/me@gmail.com", {"projects": [], "truncated": True,
                                                  "cursor": "same"})
    pages: list[AssetProjectsPage] = []

    async def collect() -> None:
        async for page in flow.assets.iter_projects("me@gmail.com"):
            pages.append(page)

    with pytest.raises(flowapi.ResponseValidationError, match="twice"):
        await collect()
    assert len(pages) == 2
    assert server.seen[-1][2] == {"cursor": "same"}


async def test_documented_asset_url_example(replay: tuple[Replay, FlowSession]) -> None:
    server, flow = replay
    ref = "user:12345-email:6a6f...-image:ff9aa5cc-...redacted..."  # as the docs print it
    server.set(f"assets/{ref}", {"url": "https://storage.googleapis.com/...signed-url...",
                                 "mediaGenerationId": ref})
    fresh = await flow.assets.get(ref)
    assert fresh.url.startswith("https://storage.googleapis.com/")
    assert fresh.media_generation_id == ref
    assert fresh.http_status == 200
    server.set(f"assets/{ref}", {"error": "Invalid mediaGenerationId format: x"}, status=400)
    with pytest.raises(flowapi.BadRequestError, match="Invalid mediaGenerationId"):
        await flow.assets.get(ref)
