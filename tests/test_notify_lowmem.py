"""Nokia lowmem: the hysteresis by hand, the free estimate, deny with ENOMEM and who is exempt."""

from __future__ import annotations

from pressure_helpers import hub_of, pressure_sim

from simcore.pressure.notify.lowmem import Lowmem, next_high_state
from simcore.pressure.spec import LowmemAction


def test_high_state_hysteresis_by_hand() -> None:
    # notify_high_pages 1000, nr_decay_pages 100: set below 1000, cleared once free - 100 > 1000
    s = 0
    seq = []
    for free in (1200, 999, 1000, 1050, 1100, 1101, 1050, 999):
        s = next_high_state(s, free, 1000, 100)
        seq.append(s)
    assert seq == [0, 1, 1, 1, 1, 0, 0, 1]
    # with no decay it follows every crossing
    assert [next_high_state(1, f, 1000, 0) for f in (999, 1000, 1001)] == [1, 1, 0]


def test_inactive_until_all_three_are_set() -> None:
    lowmem = {"enabled": True, "notify_low_pages": 3000, "notify_high_pages": 2000}  # no deny_pages yet
    sim = pressure_sim({"overcommit": {"mode": 2}, "notify": {"lowmem": lowmem},
                        "processes": [{"comm": "a", "virt_pages": 7000}]})
    sim.run_until(2)
    hub = hub_of(sim)
    assert hub.lowmem is not None and not hub.lowmem.active
    # overcommit mode 2 decided (the LSM would have allowed it)
    assert hub.refusals and hub.refusals[0][2] == "overcommit"
    assert "lowmem active" in sim.apply(LowmemAction(notify_low_pages=3000, notify_high_pages=2000,
                                                      deny_pages=100))
    sim.run_until(12)  # the start is retried: now the LSM decides, and there is plenty
    assert hub.tasks.tasks[0].state == "running" and hub.commit.committed == 7000


LOWMEM = {"enabled": True, "notify_low_pages": 3000, "notify_high_pages": 2000, "deny_pages": 1000,
          "nr_decay_pages": 200}


def _lowmem(procs: list[dict[str, object]]) -> tuple[Lowmem, object]:
    sim = pressure_sim({"notify": {"lowmem": LOWMEM}, "processes": procs})
    sim.run_until(1)
    hub = hub_of(sim)
    assert hub.lowmem is not None
    return hub.lowmem, hub


def test_free_estimate_adds_free_pages_only_when_low() -> None:
    lm, _ = _lowmem([{"comm": "a", "file_pages": 10}])
    node = lm.hub.node
    # 10 file pages, no swap, no slab: 10 <= notify_low_pages 3000, so free pages are added
    assert node.nr_kind_pages[2] == 10
    assert lm.free_estimate() == 10 + node.free_pages
    lm2, _ = _lowmem([{"comm": "a", "file_pages": 3001, "rate": 4000}])
    # 3001 page-cache pages > 3000: the cheap estimate suffices, free pages are not counted
    assert lm2.free_estimate() == 3001


def test_levels_deny_and_exemptions() -> None:
    procs = [
        {"comm": "app", "anon_pages": 7600, "rate": 800,
         "reactions": [{"on": "lowmem_low", "do": "ignore"}, {"on": "lowmem_high", "do": "ignore"}]},
    ]
    lm, _ = _lowmem(procs)
    sim = lm.hub.sim
    sim.run_until(40)
    states = [(e.level, e.state) for e in sim.node.events if e.name == "lowmem_state"]  # type: ignore[attr-defined]
    assert ("low", 1) in states and ("high", 1) in states
    assert states.index(("low", 1)) < states.index(("high", 1))
    assert lm.denied > 0
    fails = [e for e in sim.node.events if e.name == "vm_enough_memory_fail"]
    assert fails and all("lowmem" in e.reason for e in fails)  # type: ignore[attr-defined]
    assert lm.hub.delivered.get("lowmem_low") == 1 and lm.hub.delivered.get("lowmem_high") == 1
    # privileged and OOM-disabled tasks are never denied
    assert lm.vm_enough_memory(privileged=True, oom_score_adj=0) == ""
    assert lm.vm_enough_memory(privileged=False, oom_score_adj=-1000) == ""
    assert lm.vm_enough_memory(privileged=False, oom_score_adj=0).startswith("lowmem: free")
