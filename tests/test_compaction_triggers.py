"""Triggers in a running Simulation: manual (whole and stepwise), direct, kcompactd, proactive; the
selftest-shaped preset; compaction versus lumpy reclaim on one seed; the CLI."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from app.cli import main
from app.cli.compact_commands import compare_row
from app.presets import load_scenario
from simcore.actions import AllocAction, CompactAction, FillAction, SetAction
from simcore.compaction.install import find
from simcore.constants import PAGEBLOCK_NR_PAGES
from simcore.frame import SKIP_REASONS
from simcore.invariants import check
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation


def fragmented_sim(pages: int = 16384, **compaction: Any) -> Simulation:
    """A quiet zone filled with order-0 anon pages, a random half of them freed (no workload)."""
    sc = validate_scenario(
        {
            "name": "t",
            "node": {"zones": [{"name": "Normal", "pages": pages}]},
            "workload": {"events_per_tick": 0},
            "compaction": compaction,
        }
    )
    sim = Simulation(sc)
    sim.apply(FillAction(group="chunks", fraction=1.0, order=0))
    node = sim.node
    (st,) = [s for s in node.streams if s.name == "chunks"]
    pfns = sorted(st.pfns)
    chosen = np.random.default_rng(5).random(len(pfns)) < 0.5
    for pfn, free in zip(pfns, chosen.tolist(), strict=True):
        if free:
            node.free_alloc(pfn)
    return sim


def test_manual_compaction_action_completes_every_zone() -> None:
    sim = fragmented_sim()
    detail = sim.apply(CompactAction())
    assert detail.startswith("Normal: complete")
    comp = find(sim)
    assert comp is not None and comp.manual_results[0][2] > 0
    assert sim.node.zones[0].nr_free(10) > 0
    check(sim.node)


def test_stepwise_manual_compaction_animates_the_scanners() -> None:
    sim = fragmented_sim(8192)
    seen = []
    for i in range(10_000):
        sim.apply(CompactAction(step=True))
        (s,) = sim.frame(events=False).scanners
        assert s.sync == "sync" and s.order == -1
        if not s.active:
            break
        seen.append((s.migrate_pfn, s.free_pfn))
        if i % 50 == 0:
            check(sim.node)
    assert len(set(seen)) > 10
    assert [m for m, _ in seen] == sorted(m for m, _ in seen)
    # isolated free pages are visible between steps
    assert any(k for k in sim.node.kind if k == 9) or sim.node.vm_events["pgmigrate_success"] > 0


def test_manual_steps_per_tick_runs_in_the_background() -> None:
    sim = fragmented_sim(manual_steps_per_tick=8)
    assert sim.apply(CompactAction()).startswith("compaction started")
    active = []
    for _ in range(200):
        sim.step()
        active.append(any(s.active for s in sim.frame(events=False).scanners))
    assert active[0] and not active[-1]
    comp = find(sim)
    assert comp is not None and comp.manual_results and comp.manual_results[0][1] == 5  # complete
    check(sim.node)


def test_direct_compaction_serves_huge_page_requests_and_counts() -> None:
    sim = fragmented_sim(kcompactd=False)
    before = sim.node.zones[0].nr_free(9) + sim.node.zones[0].nr_free(10)
    assert before == 0
    detail = sim.apply(AllocAction(order=9, count=4))
    assert detail == "order-9 huge: 4 of 4 succeeded"
    ev = sim.node.vm_events
    assert ev["compact_stall"] >= 1
    assert ev["compact_success"] >= 1
    assert ev["compact_stall"] == ev["compact_success"] + ev["compact_fail"]
    assert ev["pgmigrate_success"] > 0
    check(sim.node)


def test_skip_reasons_are_recorded_for_the_dashboard() -> None:
    sim = fragmented_sim()
    sim.apply(AllocAction(order=9, count=2))
    sim.apply(CompactAction())
    reasons = {int(r) for r in sim.frame(events=False).pb_skip_reason}
    assert reasons - {0}
    assert max(reasons) < len(SKIP_REASONS)


def test_kcompactd_is_woken_by_high_order_demand() -> None:
    sim = fragmented_sim()
    sim.apply(AllocAction(order=9, count=1))
    for _ in range(20):
        sim.step()
    ev = sim.node.vm_events
    assert ev["compact_daemon_wake"] >= 1
    names = {e.name for e in sim.node.events}
    assert {"mm_compaction_wakeup_kcompactd", "mm_compaction_kcompactd_wake"} <= names
    check(sim.node)


def test_proactive_compaction_lowers_the_score_every_500ms() -> None:
    sim = fragmented_sim(kcompactd=True, daemon_steps_per_tick=64)
    from simcore.compaction.suitable import fragmentation_score_node

    assert fragmentation_score_node(sim.node) > 90
    for _ in range(60):  # 500 ms at 10 ms a tick, then work
        sim.step()
    assert fragmentation_score_node(sim.node) <= 80
    assert sim.node.vm_events["compact_daemon_migrate_scanned"] > 0
    # proactiveness 0 turns it off
    quiet = fragmented_sim()
    quiet.apply(SetAction(key="vm.compaction_proactiveness", value=0))
    for _ in range(60):
        quiet.step()
    assert fragmentation_score_node(quiet.node) > 90


def test_selftest_preset_meets_the_pass_bar_in_modern_mode() -> None:
    sc = load_scenario("compaction-selftest", ["node.zones.0.pages=65536"])
    assert sc.mode == "modern" and "1/3" in sc.description
    sim = Simulation(sc)
    details: list[str] = []
    sim.node.listeners.append(
        lambda e: details.append(getattr(e, "detail", "")) if e.name == "action" else None
    )
    sim.run_until(sc.ticks)
    filled = int(re.search(r"chunks: (\d+) pages", " ".join(details)).group(1))  # type: ignore[union-attr]
    huge = int(re.search(r"order-9 huge: (\d+) of", " ".join(details)).group(1))  # type: ignore[union-attr]
    assert huge * PAGEBLOCK_NR_PAGES * 3 >= filled
    check(sim.node)


def test_compare_direction_of_the_2010_cover_letter() -> None:
    sc = load_scenario("compaction-vs-lumpy")
    ticks = 125  # three rounds of huge page requests
    rows = {p: compare_row(sc, p, ticks) for p in ("compaction", "lumpy", "none")}
    comp, lumpy, none = rows["compaction"], rows["lumpy"], rows["none"]
    assert comp["high_order_success"] >= lumpy["high_order_success"]
    assert comp["high_order_success"] > none["high_order_success"]
    assert lumpy["pages_reclaimed"] > 10 * max(comp["pages_reclaimed"], 100)
    assert comp["pages_migrated"] > 0 and lumpy["pages_migrated"] == 0


def test_cli_compact_json_and_trace(capsys: pytest.CaptureFixture[str]) -> None:
    # tick 11: the chunks are freed, the preset's own compaction (tick 12) has not run yet, as the
    # preset's description says (at 12 nothing is left to migrate, whatever the scanners' rules)
    small = ["--set", "node.zones.0.pages=32768", "--ticks", "11"]
    assert main(["compact", "compaction-selftest", *small, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["result"] == "complete"
    assert set(doc["before"]) == {"buddyinfo", "vmstat"} == set(doc["after"])
    assert doc["after"]["vmstat"]["pgmigrate_success"] > doc["before"]["vmstat"]["pgmigrate_success"]
    assert main(["compact", "compaction-selftest", *small, "--mode", "2.6.35", "--json"]) == 0
    old = json.loads(capsys.readouterr().out)
    assert old["mode"] == "2.6.35" and "compact_pages_moved" in old["after"]["vmstat"]
    assert main(["compact", "compaction-selftest", *small, "--trace"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(": ")[1] == "mm_compaction_begin"
    assert lines[-1].endswith("mode=sync status=complete")
    # the root shell that wrote compact_memory runs it (simcore.tasks), on tick 11's clock: 1 us
    # apart from 0.110000 s on (10 ms ticks), strictly increasing, never at tick 12's 0.120000
    line_re = re.compile(r"^ {12}bash-1000 {4}\[000\] \.\.\.\.\. +(\d+\.\d{6}): mm_\w+: ")
    times = []
    for line in lines:
        m = line_re.match(line)
        assert m is not None, line
        times.append(float(m.group(1)))
    assert times == sorted(set(times)) and times[0] >= 0.110 and times[-1] < 0.120


def test_cli_compare_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "compare",
                "default",
                "--ticks",
                "5",
                "--set",
                "node.zones.0.pages=16384",
                "--policies",
                "compaction,none",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert [r["policy"] for r in doc["policies"]] == ["compaction", "none"]
    assert main(["compare", "default", "--ticks", "1", "--policies", "bogus"]) == 2
