"""The core's public door: vocabularies (Mode, defrag policies), Simulation methods the CLI and the
app use (compact_memory, alloc_stats, proc, add_checker) and the one work-cap check."""

from __future__ import annotations

import json

import pytest

from simcore import DEFRAG_POLICIES, Mode, ScenarioError, Simulation
from simcore.compaction.context import CompactSettings
from simcore.link import decode_link, make_token
from simcore.policies import SlowpathStep
from simcore.scenario import validate_scenario

SMALL = {"node": {"zones": [{"name": "Normal", "pages": 16384}]}, "workload": {"events_per_tick": 200}}


def small(**update: object) -> Simulation:
    return Simulation(validate_scenario({**SMALL, **update}))


# ------------------------------------------------------------------ Mode
def test_mode_values_are_the_scenario_strings() -> None:
    assert [m.value for m in Mode] == ["modern", "2.6.35"]
    sc = validate_scenario({"mode": "2.6.35"})
    assert sc.mode is Mode.V2_6_35
    doc = sc.to_dict()
    assert doc["mode"] == "2.6.35" and json.dumps(doc["mode"]) == '"2.6.35"'
    again, _ = decode_link(make_token(sc))
    assert again.mode is Mode.V2_6_35


def test_compact_settings_follow_the_mode() -> None:
    assert CompactSettings().mode is Mode.MODERN
    assert CompactSettings(mode=Mode.V2_6_35).mode is Mode.V2_6_35
    assert CompactSettings(old=True).mode is Mode.V2_6_35
    sim = small(mode="2.6.35")
    assert sim.node.mode is Mode.V2_6_35


# --------------------------------------------------------- defrag policies
def test_policy_registry_is_the_scenario_vocabulary() -> None:
    assert list(DEFRAG_POLICIES) == ["compaction", "lumpy", "none"]
    for name, policy in DEFRAG_POLICIES.items():
        assert policy.name == name and policy.label and policy.description
        assert validate_scenario({"defrag": name}).defrag == name
    assert validate_scenario({}).defrag == next(iter(DEFRAG_POLICIES))
    with pytest.raises(ScenarioError, match=r"^defrag: unknown defrag policy 'bogus'; one of compaction"):
        validate_scenario({"defrag": "bogus"})


def test_policy_decides_the_slow_path_step() -> None:
    steps = {name: p.slowpath for name, p in DEFRAG_POLICIES.items()}
    assert steps == {
        "compaction": SlowpathStep.COMPACT,
        "lumpy": SlowpathStep.LUMPY,
        "none": SlowpathStep.NOTHING,
    }
    assert [p.background for p in DEFRAG_POLICIES.values()] == [True, False, False]
