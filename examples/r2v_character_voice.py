"""A custom voice, a character that speaks with it, and an R2V video starring the character.

Calls GET /accounts, POST /voices, POST /assets, POST /characters, GET /voices,
GET /characters, GET /characters/{ref}, POST /videos with ``async: true`` (``character_1`` +
``referenceAudio_1``, named inline as ``@character_1``), GET /jobs/{jobid} until done,
downloads the video, then DELETE /characters/{ref} and DELETE /voices/{ref}.

Runs against the real API when USEAPI_TOKEN is set, otherwise against an embedded
FakeFlowServer (FLOWAPI_DEMO_TIME_SCALE sets its speed, default 0.02 = 50x faster):

    python examples/r2v_character_voice.py [OUT_DIR] [FACE.jpg]
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import flowapi
from flowapi.testing import demo_session

FACE = Path(__file__).resolve().parent / "first_image.jpeg"  # pass a portrait for real use
MODEL = "veo-3.1-fast"  # Veo R2V: 8 s, one voice; omni-flash takes up to 5


async def main(out_dir: Path, face: Path = FACE) -> int:
    async with demo_session() as flow:
        # Voices are created on one named account; the character's image must live there too.
        accounts = await flow.accounts.list()
        email = next((e for e, a in accounts.items() if a.is_healthy), None)
        if email is None:
            print("no healthy account: add one with POST /accounts")
            return 1
        voice = await flow.voices.create(flowapi.VoiceParams(
            email=email, voice="Kore", display_name="Captain Ada",
            dialog="Welcome aboard. Hold on tight!",
            voice_performance="warm, confident, a little playful"))
        print(f"voice      {voice.voice}")

        image = await flow.assets.upload(face, email=email)
        character = await flow.characters.create(flowapi.CharacterParams(
            display_name="Captain Ada", image_references=[image.media_generation_id],
            voice=voice.voice, personality_notes="A cheerful airship captain."))
        print(f"character  {character.character}")

        voices = await flow.voices.list(email, source="user")
        listed = await flow.characters.list(email)
        print(f"{email}: {len(voices.voices)} user voice(s), {len(listed.characters)} character(s)")
        detail = await flow.characters.get(character.character)
        print(f"{detail.display_name}: {detail.image_count} image(s), voice {detail.voice_ref}")

        try:
            job = await flow.jobs.submit(flowapi.VideoParams(
                prompt='@character_1 stands at the helm of an airship and says: "Welcome aboard!"',
                model=MODEL, duration=8,
                characters=[character.character], reference_audio=[voice.voice]))
            done = await flow.jobs.wait(job.jobid, model=MODEL, timeout=900)
            for i, item in enumerate(done.media, start=1):
                print(f"saved {await flow.media.download(item, out_dir / f'r2v-{i}.mp4')}")
        except flowapi.JobError as exc:
            print(f"failed: {exc}")
            return 1
        finally:  # tidy up so reruns don't pile up (deleting a character keeps its voice)
            await flow.characters.delete(character.character)
            await flow.voices.delete(voice.voice)
        return 0


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "r2v-out")
    raise SystemExit(anyio.run(main, target, Path(sys.argv[2]) if len(sys.argv) > 2 else FACE))
