"""Nokia's lowmem LSM (Maemo, 2.6.1x): notify at two levels, deny below a floor.

Checked at every commit-charged allocation (the LSM's `vm_enough_memory` hook). The "free"
estimate is file pages + free swap + reclaimable slab; only when that is at or below
notify_low_pages are free pages added too. Below deny_pages both states are set and unprivileged
allocations (not CAP_SYS_ADMIN, oom_score_adj above -1000) get ENOMEM. Otherwise the low state is
set below notify_low_pages and the high state below notify_high_pages; a set state clears only once
free reaches its threshold + nr_decay_pages (the hysteresis that stops the flapping).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcore.constants import PageKind
from simcore.pressure.events import LowmemState
from simcore.pressure.meminfo import file_lru_pages

if TYPE_CHECKING:
    from simcore.pressure.install import Pressure


def next_state(state: int, free: int, threshold: int, decay: int) -> int:
    """The watermark state after seeing `free`: set below threshold, cleared at threshold + decay."""
    if free < threshold:
        return 1
    if free >= threshold + decay:
        return 0
    return state


class Lowmem:
    def __init__(self, hub: Pressure) -> None:
        self.hub = hub
        self.spec = hub.spec.notify.lowmem
        self.state = {"low": 0, "high": 0}
        self.denied = 0

    def free_estimate(self) -> int:
        node = self.hub.node
        free = file_lru_pages(node) + self.hub.swap.free + node.nr_kind_pages[PageKind.SLAB_RECLAIMABLE]
        if free <= self.spec.notify_low_pages:
            free += node.free_pages  # "make it more expensive and try again"
        return free

    def vm_enough_memory(self, privileged: bool, oom_score_adj: int) -> str:
        """The LSM hook: "" to allow, else the reason for ENOMEM."""
        spec = self.spec
        free = self.free_estimate()
        if free < spec.deny_pages:
            self.set("low", 1, free)
            self.set("high", 1, free)
            if privileged or oom_score_adj == -1000:
                return ""
            self.denied += 1
            return f"lowmem: free {free} < deny_pages {spec.deny_pages}"
        decay = spec.nr_decay_pages
        self.set("low", next_state(self.state["low"], free, spec.notify_low_pages, decay), free)
        self.set("high", next_state(self.state["high"], free, spec.notify_high_pages, decay), free)
        return ""

    def set(self, level: str, new: int, free: int) -> None:
        if self.state[level] == new:
            return
        self.state[level] = new
        hub = self.hub
        hub.emit(LowmemState(hub.node.tick, level, new, free), notable=True)
        if new:
            threshold = self.spec.notify_low_pages if level == "low" else self.spec.notify_high_pages
            hub.deliver("lowmem", level, "lowmem_" + level, f"free {free} < notify_{level}_pages {threshold}")
