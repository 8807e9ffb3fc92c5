"""vmpressure (memcg v1 memory.pressure_level): levels from reclaim efficiency over 512-page windows.

Models mm/vmpressure.c: scanned and reclaimed pages accumulate until a window of vmpressure_win =
SWAP_CLUSTER_MAX * 16 = 512 scanned pages closes; pressure = 100 * (1 - reclaimed / scanned) in the
kernel's integer arithmetic; low below 60, medium from 60, critical from 95. A reclaim priority of
3 or less (ilog2(100 / 10)) reports a critical window by itself (`vmpressure_prio()`). A listener
registered for a level hears events at that level and above.
"""

from __future__ import annotations

from simcore.constants import SWAP_CLUSTER_MAX
from simcore.pressure.context import PressureContext
from simcore.pressure.events import VmpressureEvent
from simcore.pressure.processes import TaskTable

VMPRESSURE_WIN = SWAP_CLUSTER_MAX * 16
VMPRESSURE_LEVEL_MED = 60
VMPRESSURE_LEVEL_CRITICAL = 95
VMPRESSURE_LEVEL_CRITICAL_PRIO = 3
LEVELS = ("low", "medium", "critical")


def vmpressure_calc_level(scanned: int, reclaimed: int) -> tuple[int, str]:
    """Models `vmpressure_calc_level()`: (pressure 0..100, level name)."""
    pressure = 0
    if reclaimed < scanned:
        scale = scanned + reclaimed
        pressure = scale - (reclaimed * scale // scanned)
        pressure = pressure * 100 // scale
    if pressure >= VMPRESSURE_LEVEL_CRITICAL:
        return pressure, "critical"
    if pressure >= VMPRESSURE_LEVEL_MED:
        return pressure, "medium"
    return pressure, "low"


class Vmpressure:
    def __init__(self, hub: PressureContext, tasks: TaskTable) -> None:
        self.hub = hub
        self.tasks = tasks
        self.scanned = 0
        self.reclaimed = 0
        self.windows = dict.fromkeys(LEVELS, 0)

    def account(self, scanned: int, reclaimed: int) -> None:
        """Models `vmpressure()` for the root memcg (tree = true)."""
        if not scanned:
            return
        self.scanned += scanned
        self.reclaimed += reclaimed
        if self.scanned < VMPRESSURE_WIN:
            return
        scanned, reclaimed = self.scanned, self.reclaimed
        self.scanned = self.reclaimed = 0
        pressure, level = vmpressure_calc_level(scanned, reclaimed)
        self.windows[level] += 1
        hub = self.hub
        hub.emit(VmpressureEvent(hub.node.tick, level, pressure, scanned, reclaimed))
        rank = LEVELS.index(level)
        for listen in LEVELS[: rank + 1]:
            self.tasks.deliver(
                "vmpressure",
                level,
                "vmpressure_" + listen,
                f"pressure {pressure} ({scanned} scanned, {reclaimed} reclaimed)",
            )

    def prio(self, priority: int) -> None:
        """Models `vmpressure_prio()`: a low priority number is a critical window on its own."""
        if priority > VMPRESSURE_LEVEL_CRITICAL_PRIO:
            return
        self.account(VMPRESSURE_WIN, 0)
