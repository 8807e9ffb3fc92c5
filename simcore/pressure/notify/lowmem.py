"""Nokia's lowmem LSM (Maemo, 2.6.2x): notify at two levels, deny below a floor.

Models `low_vm_enough_memory()`, the LSM's `vm_enough_memory` hook, called at every commit charge.
It is active only once deny_pages, notify_low_pages and notify_high_pages are all set; until then
the ordinary overcommit check (`__vm_enough_memory()`) decides, and while it is active it replaces
that check. The "free" estimate is file pages + free swap + reclaimable slab; only when that is at
or below notify_low_pages are free pages added too. Below deny_pages both states are set and the
charge fails with ENOMEM unless the task is privileged (CAP_SYS_ADMIN) or OOM-disabled
(oom_score_adj -1000). Otherwise the low state is simply free < notify_low_pages; the high state is
set below notify_high_pages and cleared only once free - nr_decay_pages > notify_high_pages (the
hysteresis that stops it bouncing "when applications are being stupid").
"""

from __future__ import annotations

from simcore.constants import PageKind
from simcore.pressure.context import PressureContext
from simcore.pressure.events import LowmemState
from simcore.pressure.meminfo import file_lru_pages
from simcore.pressure.processes import TaskTable
from simcore.pressure.spec import LowmemSpec


def next_high_state(state: int, free: int, notify_high_pages: int, nr_decay_pages: int) -> int:
    """The high watermark state after seeing `free`: set below the threshold, cleared only once
    free - nr_decay_pages exceeds it, else unchanged."""
    notify = free < notify_high_pages
    if notify or free - nr_decay_pages > notify_high_pages:
        return int(notify)
    return state


class Lowmem:
    def __init__(self, hub: PressureContext, tasks: TaskTable) -> None:
        self.hub = hub
        self.tasks = tasks
        self.spec = hub.spec.notify.lowmem
        self.state = {"low": 0, "high": 0}
        self.denied = 0

    def free_estimate(self) -> int:
        node = self.hub.node
        free = file_lru_pages(node) + self.hub.swap.free + node.nr_kind_pages[PageKind.SLAB_RECLAIMABLE]
        if free <= self.spec.notify_low_pages:
            free += node.free_pages  # "make it more expensive and try again"
        return free

    @property
    def active(self) -> bool:
        """ "We activate ourselves only after both parameters have been configured.\""""
        spec = self.spec
        return bool(spec.deny_pages and spec.notify_low_pages and spec.notify_high_pages)

    def configure(self, spec: LowmemSpec) -> None:
        """Writing the /proc/sys/vm/lowmem_* sysctls."""
        self.spec = spec

    def vm_enough_memory(self, privileged: bool, oom_score_adj: int) -> str:
        """The LSM hook once active: "" to allow, else the reason for ENOMEM."""
        spec = self.spec
        free = self.free_estimate()
        if free < spec.deny_pages:
            self.set("low", 1, free)
            self.set("high", 1, free)
            if privileged or oom_score_adj == -1000:
                return ""
            self.denied += 1
            return f"lowmem: free {free} < deny_pages {spec.deny_pages}"
        self.set("low", int(free < spec.notify_low_pages), free)
        high = next_high_state(self.state["high"], free, spec.notify_high_pages, spec.nr_decay_pages)
        self.set("high", high, free)
        return ""

    def set(self, level: str, new: int, free: int) -> None:
        if self.state[level] == new:
            return
        self.state[level] = new
        hub = self.hub
        hub.emit(LowmemState(hub.node.tick, level, new, free), notable=True)
        if new:
            threshold = self.spec.notify_low_pages if level == "low" else self.spec.notify_high_pages
            reason = f"free {free} < notify_{level}_pages {threshold}"
            self.tasks.deliver("lowmem", level, "lowmem_" + level, reason)
