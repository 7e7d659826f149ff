"""Which callback payloads are complete enough to stand in for ``GET /jobs/{jobid}``
(issue 12 §9, receiver side): the spec's own job records, and the fake's callbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowapi._webhook_core import is_complete_record
from flowapi.types import decode
from flowapi.types.jobs import Job

FIXTURES = Path(__file__).parent / "fixtures" / "spec"


def _job(name: str) -> Job:
    return decode(Job, (FIXTURES / f"{name}.json").read_bytes())


@pytest.mark.parametrize("name", [
    "get-jobs-jobid__200__video-completed-media",
    "get-jobs-jobid__200__video-completed-article",
    "get-jobs-jobid__200__image-completed",
    "get-jobs-jobid__200__image-failed",
])
def test_documented_final_records_are_complete(name: str) -> None:
    assert is_complete_record(_job(name))


def test_running_or_incomplete_records_are_only_triggers() -> None:
    raw = json.loads((FIXTURES / "get-jobs-jobid__200__video-completed-media.json").read_text())
    assert not is_complete_record(decode(Job, json.dumps({**raw, "status": "started"})))
    no_media = {**raw, "response": {**raw["response"], "media": []}}
    assert not is_complete_record(decode(Job, json.dumps(no_media)))
    no_url = {**raw, "response": {**raw["response"], "media": [
        {k: v for k, v in m.items() if k not in ("videoUrl",)}
        for m in raw["response"]["media"]]}}
    assert not is_complete_record(decode(Job, json.dumps(no_url)))
    assert not is_complete_record(decode(Job, json.dumps({**raw, "jobid": ""})))
