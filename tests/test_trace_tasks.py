"""Who a trace line names: the task each event ran in (`Node.emit()` stamps it), and its CPU."""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import pytest

from app.presets import load_scenario, preset_names
from simcore.events import Event, MmPageAllocExtfrag
from simcore.simulation import Simulation
from simcore.tasks import (
    KCOMPACTD0,
    KERNEL_TASKS,
    KSWAPD0,
    KWORKER,
    NR_CPUS,
    OOM_REAPER,
    SHELL,
    Task,
    process_task,
)
from simcore.trace import event_time_ns, format_trace


@cache
def _run(preset: str, *overrides: str) -> tuple[Simulation, tuple[Event, ...]]:
    sc = load_scenario(preset, list(overrides))
    sim = Simulation(sc)
    sim.run_until(sc.ticks)
    return sim, tuple(sim.node.events)


def _tasks_by_name(events: tuple[Event, ...]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for ev in events:
        out[ev.name].add(ev.task.comm)
    return out


def test_manual_compaction_runs_as_the_writer_of_compact_memory() -> None:
    # mm/compaction.c sysctl_compaction_handler() -> compact_nodes(): the writing task compacts, in
    # its write(); the real trace names it ("bash-26765", tests/data/kernel/trace_pipe.txt)
    sim = Simulation(load_scenario("compaction-selftest", ["node.zones.0.pages=32768"]))
    sim.run_until(11)
    sim.new_events()
    sim.compact_memory()
    evs = sim.new_events()
    assert {ev.name for ev in evs} >= {"mm_compaction_begin", "mm_compaction_end", "action"}
    assert {ev.task for ev in evs} == {SHELL}
    # a paced manual run (manual_steps_per_tick) keeps its writer on later ticks
    sim = Simulation(load_scenario("fragmented-zone", []))
    sim.run_until(sim.scenario.ticks)
    paced = [ev for ev in sim.node.events if ev.name.startswith("mm_compaction")]
    assert paced and {ev.task for ev in paced} == {SHELL}
    assert len({ev.tick for ev in paced}) > 1


def test_background_and_direct_compaction_name_their_tasks() -> None:
    # kcompactd(): kcompactd_do_work() in kcompactd0; mm/vmscan.c kswapd_try_to_sleep() calls
    # wakeup_kcompactd() in kswapd0; __alloc_pages_direct_compact() -> try_to_compact_pages() in
    # the allocating task (the preset's "highalloc" requests)
    sim, evs = _run("compaction-vs-lumpy")
    by_name = _tasks_by_name(evs)
    assert by_name["mm_compaction_kcompactd_wake"] == {"kcompactd0"}
    assert by_name["mm_compaction_kcompactd_sleep"] == {"kcompactd0"}
    assert by_name["mm_compaction_wakeup_kcompactd"] == {"kswapd0"}
    assert by_name["mm_compaction_try_to_compact_pages"] == {"highalloc"}
    assert by_name["mm_compaction_begin"] == {"highalloc", "kcompactd0"}
    highalloc = sim.node.pid_by_comm["highalloc"]
    direct = [ev for ev in evs if ev.name == "mm_compaction_try_to_compact_pages"]
    assert {ev.task for ev in direct} == {process_task(highalloc, "highalloc")}


def test_reclaim_and_the_oom_killer_name_their_tasks() -> None:
    # mm/vmscan.c kswapd() -> balance_pgdat() in kswapd0; __alloc_pages_direct_reclaim() and
    # __alloc_pages_may_oom() -> out_of_memory() -> __oom_kill_process() in the allocating task;
    # mm/oom_kill.c oom_reaper() -> oom_reap_task() in oom_reaper
    sim, evs = _run("oom-score-adj")
    by_name = _tasks_by_name(evs)
    batch = sim.node.task_of(sim.node.pid_by_comm["batch"])
    assert {ev.task for ev in evs if ev.name == "mark_victim"} == {batch}
    assert by_name["mm_vmscan_kswapd_wake"] == by_name["mm_vmscan_kswapd_sleep"] == {"kswapd0"}
    assert by_name["mm_vmscan_direct_reclaim_begin"] == {"batch"}
    assert by_name["mark_victim"] == {"batch"}
    assert by_name["finish_task_reaping"] == {"oom_reaper"}
    reaped = [ev for ev in evs if ev.name == "finish_task_reaping"]
    assert {ev.task for ev in reaped} == {OOM_REAPER}
    victim = next(ev for ev in evs if ev.name == "mark_victim")
    assert victim.task.comm != victim.fields()["comm"]  # the killer, not the victim


def test_an_allocation_runs_as_its_stream_owner() -> None:
    # the workload's kernel-owned streams (slab) are charged to a per-CPU kworker; the preset's
    # huge page requests (owner "highalloc") to that process
    sim, evs = _run("compaction-vs-lumpy")
    extfrag = [ev for ev in evs if isinstance(ev, MmPageAllocExtfrag)]
    highalloc = sim.node.task_of(sim.node.pid_by_comm["highalloc"])
    assert {ev.task for ev in extfrag} == {KWORKER, highalloc}
    # the movable requests are highalloc's, the unmovable ones the kernel's
    for ev in extfrag:
        assert (ev.task == highalloc) == (ev.alloc_migratetype == 1)


def test_a_process_handles_its_notifications_and_runs_its_own_tick() -> None:
    # the notifier delivers (kernel side); the task reacts, madvises and exits in its own context
    _, evs = _run("desktop-about-to-swap")
    by_name = _tasks_by_name(evs)
    assert by_name["mem_threshold"] == by_name["pressure_notify"] == {"kworker/0:1"}
    assert by_name["task_reaction"] == {"firefox", "editor", "java"}
    for ev in evs:
        if ev.name in ("task_reaction", "madvise", "task_start"):
            assert ev.task.pid == ev.fields()["pid"], ev


def test_a_task_runs_on_cpu_pid_modulo_nr_cpus_and_a_per_cpu_kworker_on_its_own() -> None:
    assert NR_CPUS == 2
    assert process_task(45, "kswapd0") == KSWAPD0 == Task("kswapd0", 45, 1)
    assert Task("kcompactd0", 36, 0) == KCOMPACTD0
    assert process_task(3, "highalloc").cpu == 1 and process_task(4, "x").cpu == 0
    assert KWORKER.cpu == 0 and KWORKER.pid % NR_CPUS == 1  # bound to CPU 0 whatever its pid
    _, evs = _run("compaction-vs-lumpy")
    cpus = {(ev.task.comm, ev.task.cpu) for ev in evs}
    assert ("kcompactd0", 0) in cpus and ("highalloc", 1) in cpus
    assert all(cpu == (0 if comm == KWORKER.comm else pid % NR_CPUS) for comm, cpu, pid in
               {(ev.task.comm, ev.task.cpu, ev.task.pid) for ev in evs})


@pytest.mark.parametrize("preset", preset_names())
def test_no_preset_process_takes_a_kernel_tasks_pid(preset: str) -> None:
    # the model numbers its processes 1, 2, ...; the fixed tasks' pids (33 and up) stay apart
    sim, _ = _run(preset)
    assert max(sim.node.procs) < min(t.pid for t in KERNEL_TASKS)


def test_stamps_stay_out_of_the_payload_repr_and_equality() -> None:
    # the frame digests hash repr(events): stamping the task and place must not change them
    a = MmPageAllocExtfrag(5, 0x200, 0, 3, 0, 1, 1, 0)
    b = MmPageAllocExtfrag(5, 0x200, 0, 3, 0, 1, 1, 0)
    b.seq, b.task = 9, KSWAPD0
    assert repr(a) == repr(b) and a == b
    assert "seq" not in a.fields() and "task" not in a.fields()
    assert "KSWAPD" not in repr(b) and "kswapd0" not in repr(b)


def test_each_tick_numbers_its_events_from_zero_and_the_clock_only_goes_forward() -> None:
    sc = load_scenario("compaction-vs-lumpy", [])
    _, evs = _run("compaction-vs-lumpy")
    prev_tick, prev_seq, prev_t = -1, -1, -1
    for ev in evs:
        if ev.tick != prev_tick:
            assert ev.tick > prev_tick and ev.seq == 0
        else:
            assert ev.seq == prev_seq + 1
        t = event_time_ns(ev, sc.tick_ms)
        assert t > prev_t  # strictly: no tick of this run has 155,000 events
        assert t < (ev.tick + 1) * sc.tick_ms * 1_000_000
        prev_tick, prev_seq, prev_t = ev.tick, ev.seq, t


def test_trace_lines_repeat_across_runs_and_keyframes() -> None:
    sc = load_scenario("oom-score-adj", [])
    first = Simulation(sc)
    first.run_until(200)
    keyframe = first.snapshot()
    first.new_events()
    first.run_until(sc.ticks)
    again = Simulation(sc)
    again.run_until(200)
    again.new_events()
    again.run_until(sc.ticks)
    restored = keyframe.restore()
    restored.new_events()
    restored.run_until(sc.ticks)
    lines = [format_trace(s.new_events(), sc.tick_ms) for s in (first, again, restored)]
    assert lines[0] and lines[0] == lines[1] == lines[2]
    assert any(" finish_task_reaping: " in line for line in lines[0])
