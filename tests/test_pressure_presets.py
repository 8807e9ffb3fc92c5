"""The four pressure presets run headless and their JSON shows what their descriptions promise."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.cli import main
from app.presets import load_scenario
from simcore.invariants import check
from simcore.simulation import Simulation


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["run", *argv, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def timeline(r: dict[str, Any], event: str) -> list[dict[str, Any]]:
    return [e for e in r["pressure"]["timeline"] if e["event"] == event]


def test_desktop_apps_free_caches_and_nothing_dies(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_json(capsys, "desktop-about-to-swap")
    ev = r["events"]
    assert ev["mem_threshold"] >= 1 and "mark_victim" not in ev and r["vmstat"]["oom_kill"] == 0
    notified = {e["comm"] for e in timeline(r, "pressure_notify") if e["level"] == "about_to_swap"}
    assert notified == {"firefox", "editor", "java"}
    reactions = {(e["comm"], e["action"]) for e in timeline(r, "task_reaction")}
    assert reactions == {("firefox", "free_cache"), ("editor", "free_cache"), ("java", "gc")}
    assert sum(e["pages"] for e in timeline(r, "task_reaction")) > 5000
    # the only exit is the build job finishing on schedule
    assert [(e["comm"], e["reason"], e["tick"]) for e in timeline(r, "task_exit")] == [("make", "exit", 450)]
    # without the notification the same load pushes anonymous memory out to swap instead
    quiet = run_json(capsys, "desktop-about-to-swap", "--set", "pressure.notify.thresholds.enabled=false")
    assert r["vmstat"]["pswpout"] == 0 < quiet["vmstat"]["pswpout"]
    assert r["vmstat"]["pgscan_kswapd"] == 0 < quiet["vmstat"]["pgscan_kswapd"]
    assert r["pressure"]["psi"].startswith("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    assert not quiet["pressure"]["psi"].startswith("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    assert "task_reaction" not in quiet["events"]


def test_embedded_app_restarts_before_the_oom_killer(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_json(capsys, "embedded-about-to-oom")
    assert "mark_victim" not in r["events"] and r["vmstat"]["oom_kill"] == 0
    oom = [e for e in timeline(r, "mem_threshold") if e["level"] == "about_to_oom"]
    restarts = [e for e in timeline(r, "task_exit") if e["reason"] == "restart"]
    assert oom and restarts and all(e["comm"] == "browser" for e in restarts)
    assert restarts[0]["tick"] == oom[0]["tick"]
    starts = [e for e in timeline(r, "task_start") if e["comm"] == "browser"]
    assert starts[1]["tick"] == restarts[0]["tick"] + 31  # restart_delay_ticks 30, started next tick
    assert starts[1]["pid"] != starts[0]["pid"]
    # ignoring the notification leaves it to the OOM killer, which picks the browser
    ignored = run_json(capsys, "embedded-about-to-oom", "--set", "pressure.processes.1.reactions.0.do=ignore")
    assert ignored["events"]["mark_victim"] >= 1
    assert ignored["pressure"]["kills"][0]["comm"] == "browser"


def test_embedded_options(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_json(capsys, "embedded-options")
    p = r["pressure"]
    # strict overcommit refused commits while most of RAM was free (the waste, also in the series)
    oc = p["overcommit"]
    assert oc["refused"] > 0 and oc["first_refusal_tick"] < 200
    assert oc["wasted_pages"] > r["scenario"]["node"]["zones"][0]["pages"] // 2
    s = p["series"]
    early = [i for i, t in enumerate(s["tick"]) if t < 200]
    assert all(s["committed_as"][i] <= s["commit_limit"][i] for i in early)
    assert min(s["free"][i] for i in early[1:]) > 8000
    assert max(s["committed_as"]) > s["commit_limit"][-1]  # after the switch to mode 0 it overcommits
    # lowmem: low then high, ENOMEM for the unprivileged updater, never for the privileged logger
    states = [(e["level"], e["state"]) for e in timeline(r, "lowmem_state")]
    assert ("low", 1) in states and ("high", 1) in states
    assert p["lowmem"]["denied"] > 0
    denied = {e["comm"] for e in timeline(r, "vm_enough_memory_fail") if e["reason"].startswith("lowmem")}
    assert denied == {"updater"}
    # MADV_FREE: the player's cache became lazily free and reclaim dropped it without swap I/O
    assert p["pglazyfree"] > 0 and p["pglazyfreed"] > 0 and r["vmstat"]["pswpout"] == 0
    # MADV_DONTNEED instead: the same 2000 pages are free at once, nothing is left for reclaim to drop
    dontneed = run_json(capsys, "embedded-options", "--set",
                        "pressure.processes.1.reactions.0.madvise=dontneed")
    assert dontneed["pressure"]["pglazyfree"] == 0 == dontneed["pressure"]["pglazyfreed"]
    i = s["tick"].index(480)
    assert s["lazyfree"][i] == 2000 and dontneed["pressure"]["series"]["free"][i] >= s["free"][i] + 2000 - 100
    # the OOM notifier gave memory back each time, so nothing was killed
    assert r["events"]["oom_notify"] >= 1 and p["oom_notifier_freed"] > 0
    assert "mark_victim" not in r["events"]


def test_oom_score_adj_flips_the_victim(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_json(capsys, "oom-score-adj")
    assert r["events"]["mark_victim"] == 1 == r["vmstat"]["oom_kill"]
    assert [k["comm"] for k in r["pressure"]["kills"]] == ["postgres"]
    flipped = run_json(capsys, "oom-score-adj", "--set", "pressure.processes.0.oom_score_adj=-500")
    assert [k["comm"] for k in flipped["pressure"]["kills"]] == ["batch"]
    exempt = run_json(capsys, "oom-score-adj", "--set", "pressure.processes.0.oom_score_adj=-1000")
    assert "postgres" not in [k["comm"] for k in exempt["pressure"]["kills"]]


@pytest.mark.parametrize("preset", ["embedded-about-to-oom", "oom-score-adj"])
def test_invariants_hold_through_reclaim_kills_and_restarts(preset: str) -> None:
    sim = Simulation(load_scenario(preset))
    for _ in range(sim.scenario.ticks // 20):
        sim.run_until(sim.tick + 20)
        check(sim.node)
