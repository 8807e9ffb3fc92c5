"""Every preset's whole run is pinned: `zonescope run PRESET --json` gives these frame hashes (a
digest over every tick of the run, `RunHash`) and, for the pressure presets, this digest of the `pressure`
report.

These pins guard refactors and the compiled core (issue 12): a change that alters any tick of any
preset fails here. (The compiled core reproduced the pins of the pure-Python core bit for bit; they
were re-pinned once after, when `frame_hash` became the `RunHash` chain of tick records.) A
deliberate change of a kernel rule updates a pin in the same commit and says why in the commit
message and in docs/fidelity.md.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from app.cli import main
from app.presets import preset_names

#: preset -> (ticks of its own run, frame_hash, digest of the pressure report or None)
PINNED: dict[str, tuple[int, str, str | None]] = {
    "compaction-selftest": (14, "50a05b074261173e070e82ee4e76e650", None),
    "compaction-vs-lumpy": (210, "8a21dfaf91109496f59ee836c9187a65", None),
    "default": (300, "4a6b658c12e1a62a563b21aacfbfd28f", None),
    "desktop-about-to-swap": (600, "3a2996ed9036851c2525ffd2925df4a1", "9ffed243fe85139454915b572cdc80d4"),
    "embedded-about-to-oom": (500, "4629fe0df7a920b8b1e85a12fb160157", "abf773c4f6923b8709c758a7455bd390"),
    "embedded-options": (700, "ba6b7ebb2587c2ed48ec0c83563f1f7d", "5469cb112e8bb9bb5e0b12ce37acee02"),
    "fragmented-zone": (340, "9d51de1c7e246d57f4127b672cda2a81", None),
    "oom-score-adj": (400, "4433b3242b1e2fc58562a3fc509e0a78", "23ec22b283604fff753b20b6bc0a76d3"),
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
