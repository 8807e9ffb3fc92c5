"""Small pressure scenarios built inline for the pressure, OOM and notification tests."""

from __future__ import annotations

from typing import Any

from simcore.invariants import check
from simcore.pressure.install import Pressure, find
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation


def pressure_sim(pressure: dict[str, Any], pages: int = 8192, ticks: int = 200, **extra: Any) -> Simulation:
    """A Simulation of one small Normal zone with no workload and the given `[pressure]` table."""
    doc: dict[str, Any] = {
        "name": "t",
        "seed": 1,
        "ticks": ticks,
        "node": {"zones": [{"name": "Normal", "pages": pages}]},
        "workload": {"events_per_tick": 0, "streams": []},
        "pressure": {"enabled": True, **pressure},
        **extra,
    }
    return Simulation(validate_scenario(doc))


def hub_of(sim: Simulation) -> Pressure:
    hub = find(sim)
    assert hub is not None
    return hub


def run_checked(sim: Simulation, ticks: int, every: int = 25) -> None:
    """Step `ticks` ticks, running the invariant checker every `every` ticks and at the end."""
    for _ in range(ticks):
        sim.step()
        if sim.tick % every == 0:
            check(sim.node)
    check(sim.node)


def names(sim: Simulation) -> dict[str, int]:
    return dict(sim.node.event_counts)
