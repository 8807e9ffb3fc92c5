"""/dev/mem_notify (KOSAKI Motohiro's 2008 patches): wake a few pollers when reclaim turns to anon.

`memory_pressure_notify()` runs when reclaim starts on anonymous memory (here: when it scans the
anon LRU, or, without swap, when it struggles at priority <= DEF_PRIORITY - 2). It is ignored when
the zone has more than 2 * (high watermark + lowmem reserve) free, and rate-limited to one event per
200 ms. Each event wakes nr_watchers / 16 + 1 of the pollers (at most 100), in FIFO order, so a
large population of watchers is told gradually rather than all at once (the thundering herd).
"""

from __future__ import annotations

from simcore.pressure.context import PressureContext
from simcore.pressure.events import MemNotifyWake
from simcore.pressure.processes import Task, TaskTable
from simcore.zone import WMARK_HIGH, Zone

MAX_WAKE = 100


def nr_to_wake(nr_watchers: int) -> int:
    """How many pollers one event wakes."""
    return min(nr_watchers // 16 + 1, MAX_WAKE, nr_watchers)


class MemNotify:
    def __init__(self, hub: PressureContext, tasks: TaskTable) -> None:
        self.hub = hub
        self.tasks = tasks
        self.rate_limit_ms = hub.spec.notify.mem_notify.rate_limit_ms
        self.last_ms = -1 << 60
        self.queue: list[Task] = []

    def watchers(self) -> list[Task]:
        """Tasks polling /dev/mem_notify, in wait-queue order (woken ones go to the back)."""
        live = [t for t in self.tasks.live() if any(r.on == "mem_notify" for r in t.spec.reactions)]
        ids = {t.pid for t in live}
        self.queue = [t for t in self.queue if t.pid in ids]
        queued = {t.pid for t in self.queue}
        self.queue.extend(t for t in live if t.pid not in queued)
        return self.queue

    def memory_pressure_notify(self, zone: Zone) -> None:
        hub = self.hub
        if zone.free_pages > 2 * (zone.watermark[WMARK_HIGH] + max(zone.lowmem_reserve)):
            return
        now = hub.node.tick * hub.tick_ms
        if now - self.last_ms < self.rate_limit_ms:
            return
        self.last_ms = now
        queue = self.watchers()
        n = nr_to_wake(len(queue))
        woken, self.queue = queue[:n], queue[n:] + queue[:n]
        hub.emit(MemNotifyWake(hub.node.tick, zone.name, len(queue), n))
        for t in woken:
            reason = f"zone {zone.name} free {zone.free_pages}"
            self.tasks.deliver("mem_notify", "readable", "mem_notify", reason, [t])
