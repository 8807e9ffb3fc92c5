"""AIX paging-space signals: SIGDANGER below npswarn, SIGKILL below npskill.

npskill = max(64, paging_space_pages / 128) and npswarn = max(512, 4 * npskill) unless set. When
free paging space falls below npswarn every process gets SIGDANGER (ignored unless it installed a
handler); below npskill the kernel sends SIGKILL, one process per tick, to the largest (AIX 3) or
the youngest (AIX 4 and later) process without a SIGDANGER handler, until free space recovers.
"""

from __future__ import annotations

from simcore.pressure.context import PressureContext
from simcore.pressure.events import Sigdanger
from simcore.pressure.processes import TaskTable


def aix_thresholds(paging_space_pages: int) -> tuple[int, int]:
    """(npswarn, npskill) defaults for a paging space of this many pages."""
    npskill = max(64, paging_space_pages // 128)
    return max(512, 4 * npskill), npskill


class SigdangerNotifier:
    def __init__(self, hub: PressureContext, tasks: TaskTable) -> None:
        self.hub = hub
        self.tasks = tasks
        spec = hub.spec.notify.sigdanger
        warn, kill = aix_thresholds(hub.swap.total)
        self.npskill = spec.npskill if spec.npskill is not None else kill
        self.npswarn = spec.npswarn if spec.npswarn is not None else warn
        self.policy = spec.kill_policy
        self.warned = False

    def on_tick(self) -> None:
        hub = self.hub
        swap = hub.swap
        if swap.total == 0:
            return  # no paging space, nothing to watch
        free = swap.free
        tick = hub.node.tick
        if free < self.npswarn and not self.warned:
            self.warned = True
            hub.emit(Sigdanger(tick, "npswarn", free, self.npswarn), notable=True)
            for t in self.tasks.live():
                reason = f"paging space free {free} < npswarn {self.npswarn}"
                if not t.spec.sigdanger_handler:
                    reason += " (ignored: no handler)"
                self.tasks.deliver("sigdanger", "SIGDANGER", "sigdanger", reason, [t])
        elif free >= self.npswarn:
            self.warned = False
        if free < self.npskill:
            victims = [t for t in self.tasks.live() if not t.spec.sigdanger_handler]
            if not victims:
                return
            if self.policy == "youngest":
                t = max(victims, key=lambda v: (v.proc.start_tick, v.pid))
            else:
                t = max(victims, key=lambda v: (self.tasks.anon_rss(v) + self.tasks.swap_pages(v), v.pid))
            hub.emit(Sigdanger(tick, "npskill", free, self.npskill), notable=True)
            self.tasks.exit(t, "sigkill")
