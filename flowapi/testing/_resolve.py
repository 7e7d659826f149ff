"""Reference checks and account routing.

"If startImage, endImage, referenceImage_*, or referenceVideo_1 are provided, the email
parameter can be omitted — the API will automatically use the same account where the
references were uploaded" (post-videos › Account selection). References from another
useapi user answer 403 ``Unauthorized access to user:N detected in … reference``; mixing
accounts, or an explicit ``email`` that differs from the references' account, is 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._accounts import FakeAccount, NoEligibleAccount
from ._errors import ApiError
from ._library import Asset, Character, Voice, parse_ref, system_voice
from ._world import World

__all__ = ["Resolved", "pick_account", "resolve_refs"]


@dataclass(slots=True)
class Resolved:
    """Objects the references of one request point to."""

    email: str | None = None
    """Account owning the references (``None`` when there are none)."""
    assets: dict[str, Asset] = field(default_factory=dict)
    """Slot → image/video asset."""
    voices: dict[str, Voice | str] = field(default_factory=dict)
    """Slot → user voice, or the canonical system preset name."""
    characters: dict[str, Character] = field(default_factory=dict)
    """Slot → character."""


def resolve_refs(
    world: World,
    refs: list[tuple[str, str, str]],
    *,
    email: str | None,
    with_code: bool = False,
) -> Resolved:
    """Check ``(slot, value, expected_kind)`` references and find what they point to.

    ``expected_kind`` is ``image``, ``video``, ``voice`` (a system preset name is allowed)
    or ``character``.
    """
    out = Resolved()
    parsed = []
    for slot, value, kind in refs:
        if kind == "voice":
            preset = system_voice(value)
            if preset is not None:
                out.voices[slot] = preset
                continue
        ref = parse_ref(value)
        if ref is None:
            msg = (
                f"Parameter {slot} is neither a system voice name nor a recognized user voice "
                "reference-id"
                if kind == "voice"
                else f"Parameter {slot} has incorrect format"
            )
            raise ApiError.bad_request(msg, with_code=with_code)
        if ref.uid != world.uid:
            raise ApiError.foreign_ref(ref.uid, ref.kind)
        if ref.kind != kind:
            raise ApiError.bad_request(
                f"{slot} type must be '{kind}', got '{ref.kind}'", with_code=with_code
            )
        parsed.append((slot, ref))
    emails = {ref.email for _, ref in parsed}
    if len(emails) > 1:
        raise ApiError.bad_request(
            "All references must belong to the same Google Flow account", with_code=with_code
        )
    if emails:
        owner = next(iter(emails))
        if email is not None and email != owner:
            raise ApiError.bad_request(
                f"Email mismatch: references belong to {owner}, not {email}", with_code=with_code
            )
        if world.accounts.get(owner) is None:
            raise ApiError.account_not_found(owner)
        out.email = owner
    now = world.now()
    for slot, ref in parsed:
        if ref.kind in ("image", "video"):
            asset = world.library.asset(ref, now)
            if asset is None:
                raise ApiError.not_found(f"{ref.kind.capitalize()} not found: {ref.key}")
            out.assets[slot] = asset
        elif ref.kind == "voice":
            voice = world.library.voice(ref)
            if voice is None:
                raise ApiError.not_found(f"Voice not found: {ref.key}")
            out.voices[slot] = voice
        else:
            char = world.library.character(ref)
            if char is None:
                raise ApiError.not_found(f"Character not found: {ref.key}")
            out.characters[slot] = char
    return out


def pick_account(
    world: World,
    *,
    email: str | None,
    ref_email: str | None,
    group: str,
    model: str | None,
) -> tuple[FakeAccount, bool]:
    """Route a request: explicit ``email``, else the references' account, else load balancing.

    Returns ``(account, pinned)``; ``pinned`` is ``True`` unless load balancing chose.

    Raises:
        ApiError: 404 unknown account; 429 ``no_eligible_account``.
    """
    target = email or ref_email
    if target is not None:
        acct = world.accounts.get(target)
        if acct is None:
            raise ApiError.account_not_found(target)
        return acct, True
    now = world.now()
    try:
        acct = world.accounts.select(
            model, now, lambda e: world.stats.score(group, e, now), world.rng
        )
    except LookupError:
        raise ApiError.not_found("No Google Flow accounts configured") from None
    except NoEligibleAccount as exc:
        world.bump("no_eligible_account")
        raise ApiError.no_eligible(exc.skips, exc.retry_at, now) from None
    return acct, len(world.accounts.healthy()) == 1
