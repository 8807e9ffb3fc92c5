"""The two-point proposal (linux-mm, October 2007): "about to swap" and "about to OOM".

"about_to_swap" fires when MemAvailable falls below `about_to_swap_percent` of RAM: the page cache
left to drop is nearly gone, so reclaim turns to anonymous memory next; applications should give
back what they can (glibc-held memory, a JVM collection). "about_to_oom" fires when MemAvailable
plus free swap falls below `about_to_oom_percent`: an embedded application should exit or restart
now. Each level fires once per downward crossing and re-arms 1/8 above its threshold.
"""

from __future__ import annotations

from simcore.pressure.context import PressureContext
from simcore.pressure.events import MemThreshold
from simcore.pressure.meminfo import si_mem_available
from simcore.pressure.processes import TaskTable


def crossed(value: int, threshold: int, armed: bool) -> tuple[bool, bool]:
    """(fire, armed after): fire on a downward crossing; re-arm once value >= threshold * 9 / 8."""
    if armed and value < threshold:
        return True, False
    if not armed and value >= threshold + threshold // 8:
        return False, True
    return False, armed


class Thresholds:
    def __init__(self, hub: PressureContext, tasks: TaskTable) -> None:
        self.hub = hub
        self.tasks = tasks
        spec = hub.spec.notify.thresholds
        managed = hub.node.managed_pages
        self.swap_threshold = int(managed * spec.about_to_swap_percent / 100)
        self.oom_threshold = int(managed * spec.about_to_oom_percent / 100)
        self.armed = {"about_to_swap": True, "about_to_oom": True}

    def on_tick(self) -> None:
        hub = self.hub
        available = si_mem_available(hub.node)
        for level, value, threshold in (
            ("about_to_swap", available, self.swap_threshold),
            ("about_to_oom", available + hub.swap.free, self.oom_threshold),
        ):
            fire, self.armed[level] = crossed(value, threshold, self.armed[level])
            if fire:
                hub.emit(MemThreshold(hub.node.tick, level, value, threshold), notable=True)
                self.tasks.deliver("thresholds", level, level, f"available {value} < {threshold} pages")
