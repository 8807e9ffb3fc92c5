"""app/pressure_view.py: the optional `metrics.pressure` object and the kernel-style OOM text."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from app.encoder import event_json, event_text
from app.live_session import LiveSession
from app.presets import load_scenario
from app.pressure_view import pressure_part
from app.settings import Settings
from app.simrun import SimRun
from simcore.invariants import check
from simcore.pressure import MAX_HISTORY, MarkVictim, PressureNotify
from simcore.pressure.install import find
from simcore.simulation import Simulation
from tests.pressure_helpers import hub_of, pressure_sim

OOM_LINE = re.compile(
    r"^Out of memory: Killed process (\d+) \((\S+)\) total-vm:(\d+)kB, anon-rss:(\d+)kB, "
    r"file-rss:(\d+)kB, shmem-rss:(\d+)kB, UID:(\d+) pgtables:(\d+)kB oom_score_adj:(-?\d+)$"
)
SIZE_CAP = 3 * 1024


def part(sim: Simulation) -> dict[str, Any]:
    """The panel's object now, from a frame that leaves the tick's events for the next one."""
    return pressure_part(sim.frame(events=False).pressure)


def views_until_kill(sim: Simulation, limit: int) -> tuple[dict[str, Any], dict[str, Any], MarkVictim]:
    """Step until the OOM killer marks a victim: the view of the tick before, that of the kill tick,
    and the mark_victim event."""
    before = part(sim)["pressure"]
    for _ in range(limit):
        sim.step()
        frame = sim.frame()
        events = list(frame.events)
        view = pressure_part(frame.pressure)["pressure"]
        victims = [e for e in events if isinstance(e, MarkVictim)]
        if victims:
            return before, view, victims[0]
        before = view
    raise AssertionError(f"no OOM kill within {limit} ticks")


def test_absent_without_pressure() -> None:
    sim = Simulation(load_scenario("default"))
    sim.run_until(3)
    assert find(sim) is None
    assert sim.frame().pressure is None and part(sim) == {}


@pytest.mark.parametrize("adj", [0, -500])
def test_the_highlighted_pick_is_the_victim(adj: int) -> None:
    """oom-score-adj: the process the panel marks as the OOM pick the tick before the kill is the one
    killed, and changing the database's oom_score_adj flips it."""
    sim = Simulation(load_scenario("oom-score-adj", [f"pressure.processes.0.oom_score_adj={adj}"]))
    before, after, ev = views_until_kill(sim, 400)
    assert before["oom_pick"] == ev.pid
    alive = [p for p in before["processes"] if p["state"] == "alive"]
    best = max(alive, key=lambda p: (p["points"], p["pid"]))
    assert best["pid"] == ev.pid and best["points"] <= ev.points  # it may still grow in the kill tick
    assert (ev.comm == "postgres") == (adj == 0)  # -500 spares the database, the batch job goes
    victim = next(p for p in after["processes"] if p["pid"] == ev.pid)
    assert victim["state"] == "killed" and victim["points"] is None
    assert after["reaping"] == [ev.pid] and after["kills"] == 1
    assert after["last_kills"][-1]["pid"] == ev.pid
    assert after["oom_pick"] != ev.pid
    check(sim.node)


def test_oom_kill_text_reads_like_the_kernel() -> None:
    sim = Simulation(load_scenario("oom-score-adj"))
    _, after, ev = views_until_kill(sim, 400)
    text = event_text(ev)
    m = OOM_LINE.match(text)
    assert m is not None, text
    pid, comm, _total_vm, anon_kb, file_kb = m.group(1, 2, 3, 4, 5)
    assert (int(pid), comm) == (ev.pid, ev.comm)
    kill = after["last_kills"][-1]
    assert int(anon_kb) + int(file_kb) == 4 * int(kill["rss_pages"])
    assert int(m.group(9)) == kill["oom_score_adj"]
    assert event_json(ev)["name"] == "mark_victim" and event_json(ev)["text"] == text


def test_small_and_consistent_through_a_run() -> None:
    """Every tick of two presets: the object stays under 3 KB, the history is thinned, ordered and
    ends at the hub's newest sample, and the meminfo totals are the hub's."""
    for name in ("oom-score-adj", "embedded-options"):
        sim = Simulation(load_scenario(name))
        hub = hub_of(sim)
        for _ in range(sim.scenario.ticks):
            sim.step()
            got = pressure_part(sim.frame().pressure)
            size = len(json.dumps(got, separators=(",", ":")))
            assert size < SIZE_CAP, (name, sim.tick, size)
            p = got["pressure"]
            h = p["history"]
            assert len(h["tick"]) <= MAX_HISTORY
            assert h["tick"] == sorted(set(h["tick"]))
            if hub.series["tick"]:
                assert h["tick"][-1] == hub.series["tick"][-1]
                assert h["tick"][0] == hub.series["tick"][0]
            assert all(len(v) == len(h["tick"]) for v in h.values())
            assert p["mem"]["free"] == sim.node.free_pages
            assert p["mem"]["committed_as"] == hub.commit.committed
        check(sim.node)


def test_embedded_options_shows_waste_and_lowmem() -> None:
    sim = Simulation(load_scenario("embedded-options"))
    sim.run_until(sim.scenario.ticks)
    p = part(sim)["pressure"]
    hub = hub_of(sim)
    refusals = [free for _, free, src in hub.refusals if src == "overcommit"]
    assert p["overcommit"]["refused"] == len(refusals) > 0
    assert p["overcommit"]["wasted_pages"] == max(refusals) > 0
    lm = p["levels"]["lowmem"]
    assert lm is not None and lm["active"] and lm["denied"] == hub.lowmem.denied  # type: ignore[union-attr]
    notified = [r for r in p["processes"] if r["last"] is not None]
    assert notified and all(r["last"]["tick"] <= sim.tick for r in notified)


def test_restarting_state_until_the_new_pid_starts() -> None:
    """embedded-about-to-oom: an app restarts itself; the panel shows it restarting, then alive with a
    new pid and a restart count."""
    sim = Simulation(load_scenario("embedded-about-to-oom"))
    seen: list[tuple[str, int, int]] = []
    for _ in range(sim.scenario.ticks):
        sim.step()
        for row in part(sim)["pressure"]["processes"]:
            key = (row["state"], row["pid"], row["restarts"])
            if row["comm"] == "browser" and (not seen or seen[-1] != key):
                seen.append(key)
    states = [s for s, _, _ in seen]
    assert "restarting" in states
    i = states.index("restarting")
    later = [x for x in seen[i:] if x[0] == "alive"]
    assert later and later[0][1] > seen[i][1] and later[0][2] == seen[i][2] + 1


def test_last_vmpressure_window_is_remembered_per_simulation() -> None:
    sim = pressure_sim({"notify": {"vmpressure": {"enabled": True}},
                        "processes": [{"comm": "app", "anon_pages": 10}]})
    sim.run_until(2)
    hub = hub_of(sim)
    assert part(sim)["pressure"]["levels"]["vmpressure"] == {"tick": None}
    assert hub.vmpressure is not None
    hub.vmpressure.account(512, 0)  # a window closes: critical, pressure 100
    vp = part(sim)["pressure"]["levels"]["vmpressure"]  # known once emitted, before any frame shows it
    assert (vp["level"], vp["pressure"], vp["tick"]) == ("critical", 100, sim.tick)
    assert "zone" not in vp and [e.name for e in sim.frame().events].count("vmpressure") == 1
    sim.step()
    again = pressure_part(sim.frame().pressure)["pressure"]["levels"]["vmpressure"]
    assert again == vp  # no new window: the last one stays the level shown
    fresh = pressure_sim({"notify": {"vmpressure": {"enabled": True}},
                          "processes": [{"comm": "app", "anon_pages": 10}]})
    fresh.run_until(2)
    assert part(fresh)["pressure"]["levels"]["vmpressure"] == {"tick": None}


def test_metrics_carry_pressure_and_the_oom_line() -> None:
    """Through the hub: the published metrics have `pressure` and the kill's event text."""
    async def go() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        run = SimRun(load_scenario("oom-score-adj"), 10**9)
        s = LiveSession("s1", run, 0, "oom-score-adj", Settings(), lambda _s: None)
        await s._in_thread(lambda: s.run.advance(300))
        pub = s.latest
        assert pub is not None
        return pub.body, s.events_between(pub.event_start, pub.event_end)

    body, events = asyncio.run(go())
    p = body["pressure"]
    assert any(r["state"] == "killed" for r in p["processes"])
    lines = [e["text"] for e in events if e["name"] == "mark_victim"]
    assert len(lines) == 1 and OOM_LINE.match(lines[0])
    assert any(e["name"] == "task_exit" and "reason=oom_kill" in e["text"] for e in events)
    plain = LiveSession("s2", SimRun(load_scenario("default"), 10**9), 0, "default", Settings(),
                        lambda _s: None)

    async def plain_go() -> dict[str, Any]:
        await plain._in_thread(lambda: plain.run.advance(1))
        assert plain.latest is not None
        return plain.latest.body

    assert "pressure" not in asyncio.run(plain_go())


def test_marks_and_last_notifications_outlive_the_hub_log() -> None:
    """desktop-about-to-swap: the chart marks are the newest threshold crossings, and what the panel
    shows stays when the hub's own log is no longer there (it stops at LOG_CAP entries in a long run):
    the hub keeps the newest of each as they are emitted."""
    sim = Simulation(load_scenario("desktop-about-to-swap"))
    hub = hub_of(sim)
    for _ in range(400):
        sim.step()
        sim.frame()
    p = part(sim)["pressure"]
    crossings = [[e.tick, e.fields()["level"]] for e in hub.log if e.name == "mem_threshold"]
    assert crossings and p["marks"] == crossings[-8:]
    notified = {e.pid: e.tick for e in hub.log if isinstance(e, PressureNotify)}
    assert notified and {r["pid"]: r["last"]["tick"] for r in p["processes"] if r["last"]} == notified
    saved, hub.log = hub.log, []
    try:
        q = part(sim)["pressure"]
    finally:
        hub.log = saved
    assert q["marks"] == p["marks"] and q["processes"] == p["processes"]
