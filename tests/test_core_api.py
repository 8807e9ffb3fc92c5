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


# ------------------------------------------------------------ compact_memory
@pytest.mark.parametrize("steps", [0, 7])
def test_compact_memory_runs_to_completion(steps: int) -> None:
    sim = small(
        workload={"streams": [{"name": "a", "class": "anon", "orders": {0: 1, 3: 1}}]},
        compaction={"manual_steps_per_tick": steps},
    )
    sim.run_until(20)
    free_before = sim.node.free_pages
    done = sim.compact_memory()
    assert sim.tick == 20 and sim.node.free_pages == free_before
    assert [z.zone for z in done.zones] == ["Normal"]
    z = done.zones[0]
    assert z.result in ("complete", "success", "partial_skipped") and z.migrated > 0
    assert done.result == z.result
    assert done.detail == f"Normal: {z.result}, {z.migrated} pages migrated, {z.failed} failed"
    assert sim.recorded.timeline[-1].action.type == "compact"


def test_compact_memory_paced_and_unpaced_agree() -> None:
    runs = []
    for steps in (0, 5):
        sim = small(compaction={"manual_steps_per_tick": steps})
        sim.run_until(15)
        runs.append((sim.compact_memory(), sim.proc("buddyinfo")))
    assert runs[0] == runs[1]


# --------------------------------------------------------------- alloc_stats
class _Wrapped:
    """The counting `zonescope compare` did before alloc_stats(): wrappers around the entry points."""

    def __init__(self, sim: Simulation) -> None:
        node = sim.node
        self.attempts = [0] * 11
        self.successes = [0] * 11
        fast, full = node.alloc_pages_fast, node.alloc_pages

        def alloc_pages_fast(order: int, kind: int, sid: int) -> int:
            pfn = fast(order, kind, sid)
            if pfn >= 0:
                self.attempts[order] += 1
                self.successes[order] += 1
            return pfn

        def alloc_pages(order: int, kind: int, sid: int) -> int:
            pfn = full(order, kind, sid)
            self.attempts[order] += 1
            self.successes[order] += pfn >= 0
            return pfn

        setattr(node, "alloc_pages_fast", alloc_pages_fast)  # noqa: B010
        setattr(node, "alloc_pages", alloc_pages)  # noqa: B010


@pytest.mark.parametrize("defrag", ["compaction", "lumpy", "none"])
def test_alloc_stats_count_what_wrappers_counted(defrag: str) -> None:
    streams = [
        {"name": "a", "class": "anon", "orders": {0: 8, 2: 1, 4: 1, 9: 0.2}},
        {"name": "s", "class": "slab_unmovable", "orders": {0: 1, 1: 1}},
    ]
    workload = {"events_per_tick": 400, "target_occupancy": 0.95, "streams": streams}
    sim = small(defrag=defrag, workload=workload)
    before = sim.alloc_stats()
    assert sum(before.attempts) == 0
    wrapped = _Wrapped(sim)
    # the compiled loop calls no Python entry point: the reference loop does, event by event
    assert sim.workload is not None
    sim.workload.run_tick = sim.workload.run_tick_reference  # type: ignore[method-assign]
    sim.run_until(30)
    stats = sim.alloc_stats()
    assert list(stats.attempts) == wrapped.attempts and list(stats.successes) == wrapped.successes
    assert sum(sim.node.nr_alloc_tried) > 0 and stats.successes[9] > 0  # the full path was taken too
    assert stats.rate(4) == (sum(stats.successes[4:]), sum(stats.attempts[4:]))


def test_alloc_stats_leave_vmstat_and_frames_alone() -> None:
    sim = small()
    sim.run_until(5)
    assert not any("alloc_stats" in k or k.startswith("nr_alloc_") for k in sim.vmstat())


# ----------------------------------------------------------------- checkers
_SEEN: list[int] = []


def _note_tick(sim: Simulation) -> None:
    _SEEN.append(sim.tick)


def test_checkers_run_after_each_step_and_survive_keyframes() -> None:
    _SEEN.clear()
    sim = small()
    sim.add_checker(_note_tick)
    sim.run_until(3)
    assert _SEEN == [1, 2, 3]
    copy = sim.snapshot().restore()
    copy.step()
    assert _SEEN == [1, 2, 3, 4]


# ------------------------------------------------------------------- /proc
def test_proc_node_files_are_the_procfs_renderers() -> None:
    from simcore import PROC_FILES
    from simcore.procfs import render as render_proc

    sim = small()
    sim.run_until(3)
    assert sim.proc_names() == PROC_FILES
    for name in PROC_FILES:
        assert sim.proc(name) == render_proc(sim.node, name)
    with pytest.raises(ScenarioError, match=r"^proc: no file 'slabinfo' in this simulation; one of buddy"):
        sim.proc("slabinfo")
    with pytest.raises(ScenarioError, match=r"^proc: meminfo needs pressure.enabled = true in the scenario$"):
        sim.proc("meminfo")


#: fs/proc/meminfo.c order (6.1, x86-64), through FilePmdMapped
MEMINFO_LABELS = [
    *("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive"),
    *("Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked"),
    *("SwapTotal", "SwapFree", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable"),
    *("Slab", "SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "NFS_Unstable", "Bounce"),
    *("WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed", "VmallocChunk"),
    *("Percpu", "HardwareCorrupted", "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped"),
    *("FileHugePages", "FilePmdMapped"),
]


def test_pressure_scenarios_add_meminfo_and_psi() -> None:
    from app.presets import load_scenario
    from simcore.keyframe import unsafe_references

    sim = Simulation(load_scenario("embedded-about-to-oom"))
    sim.run_until(20)
    assert sim.proc_names()[-2:] == ("meminfo", "pressure/memory")
    text = sim.proc("meminfo")
    lines = text.splitlines()
    assert [ln.split(":")[0] for ln in lines] == MEMINFO_LABELS and text.endswith(" kB\n")
    for ln in lines:
        label, _, rest = ln.partition(":")
        if label != "HardwareCorrupted":  # "HardwareCorrupted: %5lu kB"
            assert ln[:16] == f"{label + ':':<16}" and len(ln) >= 16 + 8 + 3
        assert rest.endswith(" kB") and rest[:-3].strip().isdigit()
    kb = {ln.split(":")[0]: int(ln.split()[-2]) for ln in lines}
    node = sim.node
    assert kb["MemTotal"] == node.managed_pages * 4 and kb["MemFree"] == node.free_pages * 4
    assert kb["MemFree"] + kb["AnonPages"] + kb["Slab"] + kb["PageTables"] + kb["Cached"] == kb["MemTotal"]
    assert lines[0] == f"MemTotal:       {node.managed_pages * 4:8d} kB"
    psi = sim.proc("pressure/memory").splitlines()
    assert [ln.split()[0] for ln in psi] == ["some", "full"]
    assert all(ln.split()[1].startswith("avg10=") and ln.split()[-1].startswith("total=") for ln in psi)
    assert unsafe_references(sim) == []
    copy = sim.snapshot().restore()
    assert copy.proc("meminfo") == text
    copy.step()
    sim.step()
    assert copy.proc("meminfo") == sim.proc("meminfo")


# ----------------------------------------------------------- the work cap
def test_one_work_cap_check() -> None:
    from simcore import MAX_WORK, check_tick, check_work

    sc = validate_scenario({"workload": {"events_per_tick": 1000}})
    check_work(sc, MAX_WORK // 1000)
    with pytest.raises(ScenarioError) as err:
        check_work(sc, MAX_WORK // 1000 + 1, field="--ticks")
    assert str(err.value) == (
        f"--ticks x workload.events_per_tick exceeds the work cap (got {MAX_WORK // 1000 + 1} x 1000 = "
        f"{MAX_WORK + 1000}, cap {MAX_WORK})"
    )
    with pytest.raises(ScenarioError, match=r"^tick x workload.events_per_tick exceeds .*cap 500\)$"):
        check_work(sc, 1, 500, "tick")
    assert check_tick(7, "at_tick") == 7
    for bad in (-1, True, "3", 10**7):
        with pytest.raises(ScenarioError, match=r"^at_tick must be an integer in 0\.\.1000000 \(got "):
            check_tick(bad, "at_tick")
    with pytest.raises(ScenarioError, match=r"^scenario: ticks x workload.events_per_tick exceeds the"):
        validate_scenario({"ticks": 1_000_000, "workload": {"events_per_tick": 1000}})
