"""Pressure stall information for memory (/proc/pressure/memory) and its triggers.

Each tick a task's memory stall is what direct reclaim cost it (and, when an allocation failed, the
rest of the tick). "some" is the time at least one task stalled (the longest stall of the tick),
"full" the time every non-idle task stalled at once (the shortest, if all stalled). Totals are in
microseconds. Every PSI_FREQ (2 s) the averages are updated as kernel/sched/psi.c `calc_avgs()`
does: the period's stall share in whole percent, times FIXED_1, folded into avg10/avg60/avg300 with
`calc_load()` and the EXP_10s/EXP_60s/EXP_300s factors (integer arithmetic only). A trigger
"some|full <stall us> <window us>" fires when the stall grew by at least <stall us> within the last
window, at most once per window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from simcore.pressure.context import PressureContext
from simcore.pressure.events import PsiTrigger
from simcore.pressure.processes import Task, TaskTable
from simcore.pressure.spec import parse_psi_trigger

FSHIFT = 11
FIXED_1 = 1 << FSHIFT
EXP_10s = 1677
EXP_60s = 1981
EXP_300s = 2034
PSI_FREQ_MS = 2000


def calc_load(load: int, exp: int, active: int) -> int:
    """include/linux/sched/loadavg.h `calc_load()`."""
    newload = load * exp + active * (FIXED_1 - exp)
    if active >= load:
        newload += FIXED_1 - 1
    return newload // FIXED_1


def calc_avgs(avg: list[int], stall_us: int, period_us: int) -> None:
    """kernel/sched/psi.c `calc_avgs()` for one active period."""
    pct = stall_us * 100 // period_us * FIXED_1
    avg[0] = calc_load(avg[0], EXP_10s, pct)
    avg[1] = calc_load(avg[1], EXP_60s, pct)
    avg[2] = calc_load(avg[2], EXP_300s, pct)


def load_str(x: int) -> str:
    """LOAD_INT(x).LOAD_FRAC(x) as /proc/pressure prints it (%lu.%02lu)."""
    return f"{x >> FSHIFT}.{((x & (FIXED_1 - 1)) * 100) >> FSHIFT:02d}"


@dataclass(slots=True)
class Trigger:
    task: Task
    kind: str
    threshold_us: int
    window_us: int
    window_ticks: int
    last_event: int = -(1 << 60)
    fired: int = 0


class Psi:
    def __init__(self, hub: PressureContext, tasks: TaskTable) -> None:
        self.hub = hub
        self.tasks = tasks
        self.tick_us = hub.tick_us
        self.period_ticks = max(1, PSI_FREQ_MS // hub.tick_ms)
        self.total = {"some": 0, "full": 0}
        self.avg = {"some": [0, 0, 0], "full": [0, 0, 0]}
        self.avg_total = {"some": 0, "full": 0}
        self.triggers: list[Trigger] = []
        self._trigger_pids: set[int] = set()
        # cumulative totals at the end of each recent tick, for trigger windows
        self.history: deque[tuple[int, int]] = deque([(0, 0)], maxlen=2)

    def add_trigger(self, task: Task, line: str) -> None:
        kind, stall, window = parse_psi_trigger(line)
        ticks = max(1, -(-window // self.tick_us))
        self.triggers.append(Trigger(task, kind, stall, window, ticks))
        self._trigger_pids.add(task.pid)
        longest = max(t.window_ticks for t in self.triggers) + 1
        if self.history.maxlen is None or self.history.maxlen < longest:
            self.history = deque(self.history, maxlen=longest)

    def on_tick(self, stalls: dict[int, int], active: list[int]) -> None:
        tick_us = self.tick_us
        some = min(tick_us, max(stalls.values(), default=0))
        full = 0
        if active and all(stalls.get(pid, 0) > 0 for pid in active):
            full = min(tick_us, min(stalls[pid] for pid in active))
        self.total["some"] += some
        self.total["full"] += full
        self.history.append((self.total["some"], self.total["full"]))
        hub = self.hub
        tick = hub.node.tick
        if tick % self.period_ticks == 0:
            period_us = self.period_ticks * tick_us
            for k in ("some", "full"):
                calc_avgs(self.avg[k], self.total[k] - self.avg_total[k], period_us)
                self.avg_total[k] = self.total[k]
        for trig in self.triggers:
            if trig.task.state != "running":
                continue
            if tick - trig.last_event < trig.window_ticks:
                continue
            idx = 0 if trig.kind == "some" else 1
            back = min(trig.window_ticks, len(self.history) - 1)
            growth = self.history[-1][idx] - self.history[-1 - back][idx]
            if growth >= trig.threshold_us:
                trig.last_event = tick
                trig.fired += 1
                ev = PsiTrigger(tick, trig.task.pid, trig.kind, trig.threshold_us, trig.window_us, growth)
                hub.emit(ev, notable=True)
                reason = f"{trig.kind} stall {growth} us >= {trig.threshold_us} us in {trig.window_us} us"
                self.tasks.deliver("psi", trig.kind, "psi", reason, [trig.task])

    def render(self) -> str:
        """/proc/pressure/memory."""
        lines = []
        for k in ("some", "full"):
            a = self.avg[k]
            lines.append(
                f"{k} avg10={load_str(a[0])} avg60={load_str(a[1])} avg300={load_str(a[2])} "
                f"total={self.total[k]}\n"
            )
        return "".join(lines)
