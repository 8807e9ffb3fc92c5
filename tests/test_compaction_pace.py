"""A paced manual compaction: `{"type":"compact","pace":N}` runs N turns of compact_zone()'s loop a
tick, so that a class can watch the scanners travel (issue 11, "Presets tell their story"); pace 0
keeps the kernel's behaviour (the run completes at once) unless the scenario paces it."""

from __future__ import annotations

from app.presets import load_scenario
from simcore import CompactAction
from simcore.compaction.install import find as find_compaction
from simcore.simulation import Simulation


def _sim() -> Simulation:
    sim = Simulation(load_scenario("default", ["node.zones.0.pages=65536"]))
    sim.run_until(20)
    return sim


def test_a_paced_compaction_runs_at_most_its_pace_each_tick_until_the_scanners_meet() -> None:
    sim = _sim()
    sim.apply(CompactAction(pace=4))
    comp = find_compaction(sim)
    assert comp is not None and comp.manual is not None and not comp.manual.done
    run = comp.manual
    ticks = 0
    while not run.done:
        before = run.steps
        sim.step()
        ticks += 1
        assert run.steps - before <= 4
    assert ticks >= 5 and run.result.name in ("COMPLETE", "PARTIAL_SKIPPED")
    assert sim.recorded.timeline[-1].action == CompactAction(pace=4)  # links replay the pace


def test_pace_zero_completes_at_once_as_the_kernel_does() -> None:
    sim = _sim()
    sim.apply(CompactAction())
    comp = find_compaction(sim)
    assert comp is not None and comp.manual is None and comp.manual_results


def test_one_turn_a_tick_is_slower_than_four() -> None:
    def ticks_to_finish(pace: int) -> int:
        sim = _sim()
        sim.apply(CompactAction(pace=pace))
        comp = find_compaction(sim)
        assert comp is not None and comp.manual is not None
        run, n = comp.manual, 0
        while not run.done:
            sim.step()
            n += 1
        return n

    assert ticks_to_finish(1) > 2 * ticks_to_finish(4)
