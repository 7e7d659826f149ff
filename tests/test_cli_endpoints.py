"""The per-endpoint commands (``flowapi videos create`` ...) against a FakeFlowServer.

``flowapi.cli.main`` runs its own event loop (``anyio.run``), so the tests are synchronous
and the fake runs in a background thread with its own loop. Every call goes through
:func:`cli`, which also checks that the token never shows up in stdout or stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowapi.cli import build_parser, main
from flowapi.cli._endpoint_actions import parse_clip
from flowapi.cli._endpoint_output import elide_base64
from flowapi.cli._endpoint_params import SLOT_MAXIMUM

MEDIA_DIR = Path(__file__).resolve().parents[1] / "flowapi" / "testing" / "media"
TIME_SCALE = 0.001
# Simulated seconds: the commands follow the fake's clock (GET /_fake/clock), so a 5 s poll
# interval is 5 ms of real time and the one-hour deadline 3.6 s.
FAST_POLL = ["--poll-interval", "5", "--timeout", "3600"]


class ThreadedFake:
    """A FakeFlowServer serving from its own event loop in a daemon thread."""

    def __init__(self, faults: str | None = None) -> None:
        self.faults = faults
        self.fake: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fake-flow", daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            from flowapi.testing import FakeFlowServer

            async with FakeFlowServer(time_scale=TIME_SCALE, seed=1,
                                      faults=self.faults) as fake:
                self.fake = fake
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    def start(self) -> ThreadedFake:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("FakeFlowServer did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)


@pytest.fixture
def faults() -> str | None:
    """Fault spec for the fake (override with ``@pytest.mark.parametrize``)."""
    return None


@pytest.fixture
def server(faults: str | None) -> Iterator[Any]:
    threaded = ThreadedFake(faults).start()
    try:
        yield threaded.fake
    finally:
        threaded.stop()


class Run:
    """Result of one ``flowapi`` invocation."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(server: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """``cli("videos", "create", ...)`` → :class:`Run`, connected to the fake."""

    def run(*argv: str, token: str | None = None) -> Run:
        code = main([*argv, "--base-url", server.base_url, "--token", token or server.token])
        captured = capsys.readouterr()
        for secret in {server.token, token} - {None}:
            assert secret not in captured.out
            assert secret not in captured.err
        return Run(code, captured.out, captured.err)

    return run


def _email(cli: Any) -> str:
    accounts = cli("accounts", "list")
    assert accounts.code == 0, accounts.err
    assert accounts.json, "the fake should start with at least one account"
    return str(next(iter(accounts.json)))


def _routes(server: Any) -> list[str]:
    return [str(r.route) for r in server.requests]


# ---------------------------------------------------------------------------------------------
# videos and jobs
# ---------------------------------------------------------------------------------------------


def test_videos_create_async_wait_download(cli: Any, server: Any, tmp_path: Path) -> None:
    run = cli("videos", "create", "--prompt", "A fox in snow", "--model", "veo-3.1-lite",
              "--async", "--wait", "--download", str(tmp_path), *FAST_POLL)
    assert run.code == 0, run.err
    job = run.json
    assert job["status"] == "completed"
    assert job["jobid"]
    assert "submitted job" in run.err
    videos = sorted(tmp_path.glob("*.mp4"))
    assert videos, run.err
    for video in videos:
        assert video.read_bytes()[4:8] == b"ftyp"
    assert sorted(tmp_path.glob("*.jpg")), "thumbnails are downloaded too"
    posts = [r for r in server.requests if str(r.route) == "POST videos"]
    assert len(posts) == 1


def test_videos_create_async_prints_201_job_then_jobs_get_and_wait(cli: Any,
                                                                   tmp_path: Path) -> None:
    run = cli("videos", "create", "--prompt", "A red kite", "--async")
    assert run.code == 0, run.err
    jobid = run.json["jobid"]
    assert run.json["status"] == "created"
    got = cli("jobs", "get", jobid)
    assert got.code == 0, got.err
    assert got.json["jobid"] == jobid
    waited = cli("jobs", "wait", jobid, "--download", str(tmp_path), *FAST_POLL)
    assert waited.code == 0, waited.err
    assert waited.json["status"] == "completed"
    assert any(p.read_bytes()[4:8] == b"ftyp" for p in tmp_path.glob("*.mp4"))


def test_videos_create_sync_and_json_body(cli: Any, server: Any, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"prompt": "from the file", "count": 2, "__comment": "x"}))
    run = cli("videos", "create", "--json", f"@{body}", "--prompt", "from the flag",
              "--download", str(tmp_path / "out"))
    assert run.code == 0, run.err
    media = run.json["media"]
    assert len(media) == 2
    assert all(m["mediaMetadata"]["mediaTitle"] == "from the flag" for m in media)
    assert "jobId" in run.json
    assert "jobid" not in run.json  # only the spelling the sync body used
    post = next(r for r in server.requests if str(r.route) == "POST videos")
    assert post.status == 200
    videos = sorted((tmp_path / "out").glob("*.mp4"))
    assert len(videos) == 2
    assert all(v.read_bytes()[4:8] == b"ftyp" for v in videos)


def test_jobs_list_executing(cli: Any, server: Any) -> None:
    submitted = cli("videos", "create", "--prompt", "slow one", "--model", "veo-3.1-quality",
                    "--async")
    assert submitted.code == 0, submitted.err
    run = cli("jobs", "stats", "--options", "executing")
    assert run.code == 0, run.err
    assert "emails" in run.json
    listing = [r for r in server.requests if str(r.route) == "GET jobs"]
    assert listing
    assert listing[-1].query.get("options") == "executing"


def test_videos_gif_concatenate_extend_upscale(cli: Any, tmp_path: Path) -> None:
    made = cli("videos", "create", "--prompt", "two clips", "--count", "2")
    assert made.code == 0, made.err
    ids = [m["mediaGenerationId"] for m in made.json["media"]]
    ids = [i for i in ids if i]
    assert len(ids) == 2, made.out

    gif = cli("videos", "gif", ids[0], "--out", str(tmp_path / "p.gif"))
    assert gif.code == 0, gif.err
    assert (tmp_path / "p.gif").read_bytes()[:4] == b"GIF8"
    assert "bytes base64, use --out>" in gif.json["encodedGif"]

    raw = cli("videos", "gif", ids[0], "--raw")
    assert raw.code == 0, raw.err
    assert base64.b64decode(raw.json["encodedGif"])[:4] == b"GIF8"

    joined = cli("videos", "concatenate", ids[0], f"{ids[1]}:1", "--out",
                 str(tmp_path / "joined.mp4"))
    assert joined.code == 0, joined.err
    assert (tmp_path / "joined.mp4").read_bytes()[4:8] == b"ftyp"

    extended = cli("videos", "extend", "--mediaGenerationId", ids[0], "--prompt", "more",
                   "--async", "--wait", *FAST_POLL)
    assert extended.code == 0, extended.err
    assert extended.json["status"] == "completed"

    upscaled = cli("videos", "upscale", "--mediaGenerationId", ids[1])
    assert upscaled.code == 0, upscaled.err


def test_videos_concatenate_needs_two_clips(cli: Any, server: Any) -> None:
    run = cli("videos", "concatenate", "user:1-email:00-video:abc")
    assert run.code == 2
    assert "2-10 clips" in run.err
    assert not [r for r in server.requests if "concatenate" in str(r.route)]


@pytest.mark.parametrize("faults", ["moderation@POST videos"])
def test_failed_job_prints_record_and_exits_1(cli: Any) -> None:
    run = cli("videos", "create", "--prompt", "x", "--async", "--wait", *FAST_POLL)
    assert run.code == 1
    assert run.json["status"] == "failed"  # the final record is still printed
    assert "PUBLIC_ERROR_UNSAFE_GENERATION" in run.err


@pytest.mark.parametrize("faults", ["session_error@POST videos"])
def test_api_status_error_exits_1(cli: Any) -> None:
    run = cli("videos", "create", "--prompt", "x")
    assert run.code == 1
    assert run.out == ""
    assert "596" in run.err


# ---------------------------------------------------------------------------------------------
# bad input and errors
# ---------------------------------------------------------------------------------------------


def test_videos_create_without_prompt_is_usage_error(cli: Any, server: Any) -> None:
    run = cli("videos", "create", "--model", "veo-3.1-fast")
    assert run.code == 2
    assert "prompt" in run.err
    assert run.out == ""
    assert not [r for r in server.requests if str(r.route).startswith("POST")]


def test_videos_create_unknown_model_is_usage_error(cli: Any, server: Any) -> None:
    run = cli("videos", "create", "--prompt", "x", "--model", "veo-9")
    assert run.code == 2
    assert "unknown model 'veo-9'" in run.err
    assert "veo-3.1-fast" in run.err  # the rule's message lists the supported models
    assert not server.requests


def test_slot_gap_and_flag_combinations_are_usage_errors(cli: Any) -> None:
    gap = cli("videos", "create", "--prompt", "x", "--referenceImage_2", "r")
    assert gap.code == 2
    assert "referenceImage_1" in gap.err
    wait = cli("videos", "create", "--prompt", "x", "--wait")
    assert wait.code == 2
    assert "--async" in wait.err
    bad_json = cli("videos", "create", "--json", "[1, 2]")
    assert bad_json.code == 2
    assert "JSON object" in bad_json.err


def test_wrong_token_exits_3_without_echoing_it(cli: Any) -> None:
    wrong = "user:9999-not-the-right-token-abcdef"
    run = cli("accounts", "list", token=wrong)
    assert run.code == 3
    assert "fatal" in run.err


def test_api_error_exits_1(cli: Any) -> None:
    run = cli("jobs", "get", "j0000000000v-u1-email:nobody@gmail.com-bot:google-flow")
    assert run.code == 1
    assert run.err.startswith("flowapi: error:")


# ---------------------------------------------------------------------------------------------
# accounts, captcha, assets, images, voices, characters
# ---------------------------------------------------------------------------------------------


def test_accounts_commands(cli: Any, tmp_path: Path) -> None:
    email = _email(cli)
    got = cli("accounts", "get", email)
    assert got.code == 0, got.err
    assert got.json["health"] == "OK"

    cookies = tmp_path / "cookies.tsv"
    cookies.write_text("email\tnew.person@gmail.com\nHSID\tAYQ\t.google.com\t/\t2027-01-01\n")
    created = cli("accounts", "create", "--cookies-file", str(cookies))
    assert created.code == 0, created.err
    assert "new.person@gmail.com" in cli("accounts", "list").json
    deleted = cli("accounts", "delete", "new.person@gmail.com")
    assert deleted.code == 0, deleted.err
    missing = cli("accounts", "get", "new.person@gmail.com")
    assert missing.code == 1


def test_captcha_commands(cli: Any, server: Any) -> None:
    assert cli("captcha", "providers").code == 0
    run = cli("captcha", "set-providers", "--CapSolver", "CAP-1234567890abcdef",
              "--2Captcha", "abcdef0123456789")
    assert run.code == 0, run.err
    post = next(r for r in server.requests if str(r.route).startswith("POST accounts/captcha"))
    assert post.status == 200
    stats = cli("captcha", "stats", "--limit", "5")
    assert stats.code == 0, stats.err
    assert cli("captcha", "set-providers").code == 2


def test_assets_upload(cli: Any, server: Any) -> None:
    run = cli("assets", "upload", str(MEDIA_DIR / "sample.png"))
    assert run.code == 0, run.err
    ref = run.json["mediaGenerationId"]
    media_id = ref["mediaGenerationId"] if isinstance(ref, dict) else ref
    assert "-image:" in media_id
    upload = next(r for r in server.requests if str(r.route).startswith("POST assets"))
    assert upload.status == 200
    missing = cli("assets", "upload", "/nonexistent/file.png")
    assert missing.code == 2


def test_assets_get_projects_media_delete(cli: Any, server: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    email = _email(cli)
    up = cli("assets", "upload", str(MEDIA_DIR / "sample.png"), "--email", email)
    media_id = up.json["mediaGenerationId"]["mediaGenerationId"]
    got = cli("assets", "get", media_id)
    assert got.code == 0, got.err
    assert got.json["mediaGenerationId"] == media_id and got.json["url"]
    video = cli("videos", "create", "--prompt", "a fox", "--model", "veo-3.1-lite")
    assert video.code == 0, video.err
    projects = cli("assets", "projects", email, "--all")
    assert projects.code == 0, projects.err
    assert projects.json["projects"][0]["byType"] == {"VIDEO": 1}
    one = cli("assets", "projects", email)
    assert one.json["truncated"] is False
    media = cli("assets", "media", email)
    assert media.code == 0, media.err
    assert media.json["likelyUploads"] == 1
    assert {m["likelyUpload"] for m in media.json["media"]} == {True, False}
    # unattended without --yes: refused, nothing sent
    before = len(server.requests)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    refused = cli("assets", "delete", email, media_id)
    assert refused.code == 2 and "--yes" in refused.err
    assert len(server.requests) == before
    deleted = cli("assets", "delete", email, media_id, "--yes")
    assert deleted.code == 0, deleted.err
    assert deleted.json["ok"] is True and deleted.json["deleted"] == 1
    assert cli("assets", "get", media_id).code == 1  # 404: gone for good


def test_assets_delete_asks_on_a_terminal(cli: Any, server: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    email = _email(cli)
    up = cli("assets", "upload", str(MEDIA_DIR / "sample.png"), "--email", email)
    media_id = up.json["mediaGenerationId"]["mediaGenerationId"]
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    no = cli("assets", "delete", email, media_id)
    assert no.code == 2 and "Permanently delete 1" in no.err
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    yes = cli("assets", "delete", email, media_id)
    assert yes.code == 0, yes.err
    assert [r.status for r in server.requests if r.route == "DELETE assets/{email}"] == [200]


def test_images_create_download_and_upscale(cli: Any, tmp_path: Path) -> None:
    run = cli("images", "create", "--prompt", "a lighthouse", "--model", "nano-banana-2",
              "--count", "2", "--download", str(tmp_path / "imgs"))
    assert run.code == 0, run.err
    files = sorted((tmp_path / "imgs").iterdir())
    assert len(files) == 2
    for f in files:
        head = f.read_bytes()[:8]
        assert head.startswith((b"\xff\xd8\xff", b"\x89PNG"))
    media = run.json["media"]
    ids = [m["mediaGenerationId"] or m["image"]["generatedImage"]["mediaGenerationId"]
           for m in media]
    assert all(ids), run.out
    for m in media:  # inline images are never dumped into the JSON without --raw
        encoded = (m.get("image") or {}).get("generatedImage", {}).get("encodedImage")
        assert not encoded or encoded.endswith("bytes base64, use --download>")
    up = cli("images", "upscale", "--mediaGenerationId", ids[0], "--out",
             str(tmp_path / "big.jpg"))
    assert up.code == 0, up.err
    assert (tmp_path / "big.jpg").stat().st_size > 0
    assert "bytes base64, use --out>" in up.json["encodedImage"]


def test_voices_and_characters(cli: Any) -> None:
    email = _email(cli)
    system = cli("voices", "list", "--email", email, "--source", "system")
    assert system.code == 0, system.err
    assert len(system.json["voices"]) == 30
    assert cli("voices", "get", "Kore").code == 0

    voice = cli("voices", "create", "--email", email, "--voice", "Kore",
                "--displayName", "Narrator", "--dialog", "Hello there",
                "--voicePerformance", "calm")
    assert voice.code == 0, voice.err
    ref = voice.json["voice"]

    upload = cli("assets", "upload", str(MEDIA_DIR / "sample.png"), "--email", email)
    assert upload.code == 0, upload.err
    raw = upload.json["mediaGenerationId"]
    image = raw["mediaGenerationId"] if isinstance(raw, dict) else raw
    character = cli("characters", "create", "--displayName", "Ada", "--imageReference_1",
                    image, "--voice", ref)
    assert character.code == 0, character.err
    cref = character.json["character"]
    listed = cli("characters", "list", "--email", email)
    assert listed.code == 0, listed.err
    assert [c for c in listed.json["characters"] if c["character"] == cref]
    assert cli("characters", "get", cref).code == 0
    assert cli("characters", "delete", cref).code == 0
    assert cli("voices", "delete", ref).code == 0


# ---------------------------------------------------------------------------------------------
# The parser and helpers (no server)
# ---------------------------------------------------------------------------------------------


def _leaf_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    parser = build_parser()
    found = []
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for group, group_parser in top.choices.items():
        if group in ("batch", "demo", "fake-server"):
            continue
        sub = next(a for a in group_parser._actions
                   if isinstance(a, argparse._SubParsersAction))
        for name, leaf in sub.choices.items():
            found.append((f"{group} {name}", leaf))
    return found


def test_every_command_has_help_naming_its_endpoint() -> None:
    leaves = dict(_leaf_parsers())
    assert len(leaves) == 30  # the 29 endpoints plus `jobs wait`
    for name, leaf in leaves.items():
        text = " ".join(leaf.format_help().split())
        assert "Calls " in text, name
        assert any(m in text for m in ("Calls GET ", "Calls POST ", "Calls DELETE ")), name
        options = {o for a in leaf._actions for o in a.option_strings}
        assert {"--token", "--base-url"} <= options, name


def test_generated_options_cover_every_slot() -> None:
    leaves = dict(_leaf_parsers())
    options = {o for a in leaves["videos create"]._actions for o in a.option_strings}
    for wire in ("--prompt", "--aspectRatio", "--referenceVideo_1", "--captchaRetry",
                 "--replyUrl", "--json"):
        assert wire in options
    for n in range(1, SLOT_MAXIMUM["referenceImage_"] + 1):
        assert f"--referenceImage_{n}" in options
    assert "--character_7" in options
    assert "--character_8" not in options
    assert "--referenceAudio_5" in options
    images = {o for a in leaves["images create"]._actions for o in a.option_strings}
    assert "--reference_10" in images
    chars = {o for a in leaves["characters create"]._actions for o in a.option_strings}
    assert "--imageReference_2" in chars
    assert "--imageReference_3" not in chars


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["videos", "create", "--help"])
    assert exc.value.code == 0
    assert "POST /videos" in capsys.readouterr().out


def test_parse_clip() -> None:
    clip = parse_clip("user:1-email:ab-video:xyz")
    assert clip.media_generation_id == "user:1-email:ab-video:xyz"
    clip = parse_clip("user:1-email:ab-video:xyz:1.5:2")
    assert (clip.media_generation_id, clip.trim_start, clip.trim_end) == (
        "user:1-email:ab-video:xyz", 1.5, 2.0)
    clip = parse_clip("user:1-email:ab-video:xyz::2")
    assert clip.to_wire() == {"mediaGenerationId": "user:1-email:ab-video:xyz", "trimEnd": 2.0}
    assert parse_clip("user:1-email:ab-video:5::").media_generation_id == (
        "user:1-email:ab-video:5")


def test_elide_base64() -> None:
    data = {"encodedVideo": "AAAA" * 10, "media": [{"rawBytes": "QUJD", "x": "keep"}]}
    out = elide_base64(data, "--out")
    assert out["encodedVideo"] == "<30 bytes base64, use --out>"
    assert out["media"][0] == {"rawBytes": "<3 bytes base64, use --out>", "x": "keep"}


def test_reference_doc_lists_every_command() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "reference.md").read_text()
    assert doc.count("\n### ") == 29  # one section per endpoint (25 + 4 asset routes)
    for name, _ in _leaf_parsers():
        assert f"flowapi {name}" in doc, name


def test_videos_create_uploads_local_frames(cli: Any, server: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(MEDIA_DIR.parents[2] / "examples")
    run = cli("videos", "create", "--prompt", "From the first frame to the last",
              "--model", "veo-3.1-fast", "--startImage", "./first_image.jpeg",
              "--endImage", "last_image.jpeg", "--async")
    assert run.code == 0, run.err
    routes = [str(r.route) for r in server.requests]
    assert routes.count("POST assets/{email}") + routes.count("POST assets") == 2
    body = json.loads(run.out)
    assert body["status"] == "created"
    sent = [r for r in server.requests if str(r.route) == "POST videos"]
    assert len(sent) == 1
    job = server.jobs[body["jobid"]]
    request = job.request if isinstance(job.request, dict) else {}
    assert str(request.get("startImage", "")).startswith("user:")
    assert str(request.get("endImage", "")).startswith("user:")
    assert "uploaded first_image.jpeg as startImage" in run.err
