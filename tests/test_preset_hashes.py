"""Every preset's whole run is pinned: `zonescope run PRESET --json` gives these frame hashes (a
digest over every frame of the run) and, for the pressure presets, this digest of the `pressure`
report.

These pins guard refactors and the compiled core (issue 12): a change that alters any frame of any
preset fails here. A deliberate change of a kernel rule updates a pin in the same commit and says
why in the commit message and in docs/fidelity.md.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from app.cli import main
from app.presets import preset_names

#: preset -> (ticks of its own run, frame_hash, digest of the pressure report or None)
PINNED: dict[str, tuple[int, str, str | None]] = {
    "compaction-selftest": (14, "f68d03f1bb7e669a966703c217b9ce23", None),
    "compaction-vs-lumpy": (210, "d5d692cf30f2f0eff61cfbf6583f4c98", None),
    "default": (300, "11f3cc075de5a18ae85799917b2d3d04", None),
    "desktop-about-to-swap": (600, "d16ae8f9dcea52bfe1ccdfedbf19dff5", "9ffed243fe85139454915b572cdc80d4"),
    "embedded-about-to-oom": (500, "2490d892b213ec98118a8c8108b2af39", "abf773c4f6923b8709c758a7455bd390"),
    "embedded-options": (700, "bd68c5e51956cea7092295639ba1742f", "5469cb112e8bb9bb5e0b12ce37acee02"),
    "fragmented-zone": (340, "a02e048a9694633fbd6058f15f47f2f8", None),
    "oom-score-adj": (400, "8694b15124b61bef7daedac780d479e7", "23ec22b283604fff753b20b6bc0a76d3"),
}


def test_every_preset_is_pinned() -> None:
    assert sorted(PINNED) == preset_names()


@pytest.mark.parametrize("preset", sorted(PINNED))
def test_preset_run_reproduces_its_pinned_hashes(preset: str, capsys: pytest.CaptureFixture[str]) -> None:
    ticks, frame_hash, pressure = PINNED[preset]
    assert main(["run", preset, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ticks"] == ticks
    assert result["frame_hash"] == frame_hash
    report = result.get("pressure")
    digest = None if report is None else hashlib.blake2b(
        json.dumps(report, sort_keys=True).encode(), digest_size=16).hexdigest()
    assert digest == pressure
