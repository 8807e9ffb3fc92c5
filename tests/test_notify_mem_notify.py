"""/dev/mem_notify: nr_watchers / 16 + 1 wakeups in FIFO order, the 200 ms rate limit, the free cutoff."""

from __future__ import annotations

from pressure_helpers import hub_of, pressure_sim

from simcore.pressure.notify.mem_notify import MemNotify, nr_to_wake


def test_nr_to_wake() -> None:
    assert [nr_to_wake(n) for n in (0, 1, 15, 16, 17, 32, 100)] == [0, 1, 1, 2, 2, 3, 7]
    assert nr_to_wake(10_000) == 100


def _sim(n: int) -> tuple[MemNotify, object]:
    react = [{"on": "mem_notify", "do": "ignore", "cooldown_ticks": 0}]
    procs = [{"comm": f"w{i}", "anon_pages": 1, "reactions": react} for i in range(n)]
    sim = pressure_sim({"notify": {"mem_notify": {"enabled": True}}, "processes": procs})
    sim.run_until(1)
    hub = hub_of(sim)
    assert hub.mem_notify is not None
    return hub.mem_notify, sim


def test_rate_limit_and_round_robin() -> None:
    mn, sim = _sim(20)
    zone = mn.hub.node.zones[0]
    zone.watermark[2] = zone.free_pages  # pretend free memory is at the high watermark: not ignored
    mn.memory_pressure_notify(zone)
    woke = [e.comm for e in sim.node.events if e.name == "pressure_notify"]  # type: ignore[attr-defined]
    assert woke == ["w0", "w1"]  # 20 // 16 + 1 = 2 of 20, the first in the queue
    mn.memory_pressure_notify(zone)  # same tick: within 200 ms, ignored
    assert sum(1 for e in sim.node.events if e.name == "mem_notify") == 1
    for _ in range(20):  # 200 ms later the next event wakes the next two
        sim.step()  # type: ignore[attr-defined]
    mn.memory_pressure_notify(zone)
    woke = [e.comm for e in sim.node.events if e.name == "pressure_notify"]  # type: ignore[attr-defined]
    assert woke == ["w0", "w1", "w2", "w3"]


def test_ignored_with_plenty_free() -> None:
    mn, sim = _sim(3)
    zone = mn.hub.node.zones[0]  # nearly all free: far above 2 * (high + reserve)
    mn.memory_pressure_notify(zone)
    assert "mem_notify" not in sim.node.event_counts  # type: ignore[attr-defined]
