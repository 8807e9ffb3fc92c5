"""Compile every kernel once, so that numba's on-disk cache is warm before the first real run.

`make install` / `make run` and the Docker image run ``python -m simcore.kernels.warm``: a small
simulation that goes through the workload loop, the slow path, a manual compaction and a frame.
Without it the first run compiles what it uses (a few seconds) and later runs load it from the cache.
"""

from __future__ import annotations

from simcore.actions import CompactAction
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

#: a 64 MiB zone filled near its watermarks, so the slow path and fallbacks run too
WARM_SCENARIO = {
    "name": "warm",
    "ticks": 5,
    "node": {"zones": [{"name": "Normal", "pages": 16384}]},
    "workload": {
        "events_per_tick": 4000,
        "target_occupancy": 0.97,
        "streams": [
            {"name": "anon", "class": "anon", "orders": {0: 8, 3: 1, 9: 1}, "lifetime": 50},
            {"name": "slab", "class": "slab_unmovable", "orders": {0: 1, 2: 1}, "lifetime": 80},
        ],
    },
}


def warm() -> str:
    """Run the warm-up simulation; returns its frame digest (hex)."""
    sim = Simulation(validate_scenario(WARM_SCENARIO))
    sim.run_until(5)
    sim.apply(CompactAction())
    sim.run_until(8)
    return sim.frame().digest().hex()


if __name__ == "__main__":
    warm()
