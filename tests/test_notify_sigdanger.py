"""AIX SIGDANGER: npswarn / npskill by hand; SIGDANGER to all, SIGKILL to the youngest without a handler."""

from __future__ import annotations

from pressure_helpers import hub_of, pressure_sim, run_checked

from simcore.pressure.notify.sigdanger import aix_thresholds


def test_aix_thresholds_by_hand() -> None:
    # 256 MiB paging space = 65536 pages: npskill = max(64, 65536 / 128 = 512) = 512,
    # npswarn = max(512, 4 * 512 = 2048) = 2048
    assert aix_thresholds(65536) == (2048, 512)
    # 16 MiB = 4096 pages: 4096 / 128 = 32 -> floor 64; 4 * 64 = 256 -> floor 512
    assert aix_thresholds(4096) == (512, 64)
    # 1 GiB = 262144 pages: 2048 and 8192
    assert aix_thresholds(262144) == (8192, 2048)


def test_sigdanger_then_sigkill_youngest_without_handler() -> None:
    # 32 MiB RAM, 4 MiB swap (1024 pages): npskill 64, npswarn 512 (defaults)
    procs = [
        {"comm": "old", "anon_pages": 3000, "rate": 300},
        {"comm": "handler", "anon_pages": 3000, "rate": 300, "sigdanger_handler": True,
         "reactions": [{"on": "sigdanger", "do": "free_cache", "percent": 100}], "cache_pages": 500},
        {"comm": "young", "anon_pages": 6000, "rate": 100, "start_tick": 30},
    ]
    sim = pressure_sim({"swap_pages": 1024, "notify": {"sigdanger": {"enabled": True}}, "processes": procs})
    hub = hub_of(sim)
    assert hub.sigdanger is not None and (hub.sigdanger.npswarn, hub.sigdanger.npskill) == (512, 64)
    run_checked(sim, 150)
    warn = [e for e in sim.node.events if e.name == "sigdanger" and getattr(e, "level", "") == "npswarn"]
    assert warn and warn[0].free_paging_space < 512  # type: ignore[attr-defined]
    # SIGDANGER reached every live task; only the one with a handler acted on it
    got = [e for e in sim.node.events if e.name == "pressure_notify"]
    assert {e.comm for e in got} >= {"old", "handler", "young"}  # type: ignore[attr-defined]
    acted = {e.comm for e in sim.node.events if e.name == "task_reaction"}  # type: ignore[attr-defined]
    assert acted == {"handler"}
    kills = [e for e in sim.node.events if e.name == "task_exit" and e.reason == "sigkill"]  # type: ignore[attr-defined]
    assert kills and kills[0].comm == "young"  # type: ignore[attr-defined]
    assert all(k.comm != "handler" for k in kills)  # type: ignore[attr-defined]
