"""The OOM killer: oom_badness() by hand, exemption, tie-breaking, the reaper delay, the notifier."""

from __future__ import annotations

from pressure_helpers import hub_of, names, pressure_sim, run_checked

from simcore.pressure.oom import oom_badness


def test_badness_hand_worked() -> None:
    # 64 MiB RAM (16384 pages) + 16 MiB swap (4096): totalpages 20480 -> one adj unit = 20480 // 1000 = 20
    assert oom_badness(rss=5000, swapents=300, pgtables=12, oom_score_adj=0, totalpages=20480) == 5312
    assert oom_badness(5000, 300, 12, 500, 20480) == 5312 + 500 * 20  # 15312
    assert oom_badness(5000, 300, 12, -250, 20480) == 5312 - 5000  # 312
    # below zero is allowed: the kernel still compares it (only -1000 exempts)
    assert oom_badness(100, 0, 1, -999, 20480) == 101 - 999 * 20
    # the kernel divides totalpages by 1000 first: 1999 pages -> unit 1, not 1.999
    assert oom_badness(10, 0, 0, 1000, 1999) == 10 + 1000


def test_minus_1000_is_exempt() -> None:
    assert oom_badness(10**6, 10**5, 100, -1000, 20480) is None


PROCS = [
    {"comm": "big", "anon_pages": 4000, "rate": 400},
    {"comm": "small", "anon_pages": 1000, "rate": 400},
    {"comm": "hog", "anon_pages": 9000, "rate": 50, "start_tick": 20},
]


def test_largest_is_killed_and_reaped_after_the_delay() -> None:
    sim = pressure_sim({"processes": PROCS, "oom": {"reaper_delay_ms": 500}})
    hub = hub_of(sim)
    run_checked(sim, 200)
    kills = hub.oom.kills
    assert len(kills) >= 1 and kills[0]["comm"] == "big"
    ev = names(sim)
    assert ev["mark_victim"] == len(kills) and sim.node.vm_events["oom_kill"] == len(kills)
    # memory comes back only when the reaper runs, 500 ms = 50 ticks after the kill
    reaped = [e for e in sim.node.events if e.name == "finish_task_reaping"]
    assert reaped and reaped[0].tick == int(str(kills[0]["tick"])) + 50
    big = hub.tasks.tasks[0]
    assert big.state == "dead" and big.exit_reason == "oom_kill"
    assert hub.tasks.anon_rss(big) == 0 and big.committed == 0


def test_oom_score_adj_flips_the_victim_and_minus_1000_protects() -> None:
    procs = [dict(PROCS[0], oom_score_adj=-1000), PROCS[1], PROCS[2]]
    sim = pressure_sim({"processes": procs, "oom": {"reaper_delay_ms": 0}})
    hub = hub_of(sim)
    run_checked(sim, 200)
    assert hub.oom.kills and all(k["comm"] != "big" for k in hub.oom.kills)
    assert hub.oom.kills[0]["comm"] == "hog"


def test_tie_goes_to_the_later_task() -> None:
    sim = pressure_sim({"processes": [{"comm": "a", "anon_pages": 500, "rate": 500},
                                      {"comm": "b", "anon_pages": 500, "rate": 500}]})
    hub = hub_of(sim)
    sim.run_until(3)
    chosen = hub.oom.select_bad_process()
    assert chosen is not None
    assert chosen[0] == hub.tasks.tasks[1].pid  # points >= chosen_points: the later one wins


def test_oom_notifier_averts_the_kill_while_it_can() -> None:
    sim = pressure_sim({"processes": PROCS, "oom": {"notifier_pages": 2048, "notifier_batch": 256}})
    hub = hub_of(sim)
    run_checked(sim, 200)
    evs = [e for e in sim.node.events if e.name in ("oom_notify", "mark_victim")]
    notify = [e for e in evs if e.name == "oom_notify"]
    assert len(notify) == 2048 // 256  # each out_of_memory() call deflated one batch instead of killing
    assert hub.oom.notifier_freed == 2048
    # a victim is chosen only once the notifier has nothing left to give
    first_kill = next(i for i, e in enumerate(evs) if e.name == "mark_victim")
    assert all(e.name == "oom_notify" for e in evs[:first_kill]) and first_kill == len(notify)
