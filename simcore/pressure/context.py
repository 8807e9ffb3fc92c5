"""The pressure context: the state and services every pressure mechanism shares.

Theory of operation. The mechanisms (processes, reclaim, the OOM killer, the notifiers) import this
module, never the installer: `PressureContext` holds the node, the clock (`tick_ms`, `tick_us`,
`ticks()`), the shared random stream, the swap space, overcommit accounting and its refusals, the
PSI stall of each task this tick (`stall()`), the notifications delivered so far, and the log of
notable events; `emit()` is the one way a mechanism emits. A mechanism that another one calls is
handed to it when the hub (`simcore.pressure.install.Pressure`, a `PressureContext`) builds them;
the one call that runs against the layering, the commit charge reaching the lowmem LSM, goes
through the `lsm` slot, as `security_vm_enough_memory_mm()` reaches a registered LSM hook.

`emit()` also keeps `Latest`: the newest event of each kind the pressure panel shows as a level
(vmpressure window, /dev/mem_notify wake-up, PSI trigger), the newest notification of each pid and
the newest chart marks. It is state of the hub, so a simulation restored from a keyframe shows the
same levels and marks as a replay to that tick.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from simcore.events import Event
from simcore.pressure.events import (
    LowmemState,
    MemNotifyWake,
    MemThreshold,
    OomNotify,
    PressureNotify,
    PsiTrigger,
    Sigdanger,
    VmpressureEvent,
)
from simcore.pressure.frame import MAX_MARKS, Mark
from simcore.pressure.meminfo import SwapSpace
from simcore.pressure.overcommit import Overcommit
from simcore.pressure.spec import PressureSpec

if TYPE_CHECKING:
    from simcore.host import Host

#: at most this many notable events are kept for the report
LOG_CAP: Final = 5000


class VmEnoughMemoryLsm(Protocol):
    """An LSM's `vm_enough_memory` hook (2.6's security_ops): while active it replaces
    `__vm_enough_memory()` and charges Committed_AS itself."""

    @property
    def active(self) -> bool: ...

    def vm_enough_memory(self, privileged: bool, oom_score_adj: int) -> str: ...


def chart_mark(ev: Event) -> Mark | None:
    """The chart's mark for a notification event, None for the others (and for a state cleared)."""
    if isinstance(ev, (MemThreshold, Sigdanger)):
        return Mark(ev.tick, ev.level)
    if isinstance(ev, LowmemState):
        return Mark(ev.tick, f"lowmem_{ev.level}") if ev.state else None
    if isinstance(ev, PsiTrigger):
        return Mark(ev.tick, f"psi {ev.kind}")
    if isinstance(ev, OomNotify):
        return Mark(ev.tick, "oom notifier")
    return None


#: the event types `Latest` keeps something of
_LATEST_TYPES: Final = frozenset(
    {VmpressureEvent, MemNotifyWake, PsiTrigger, PressureNotify, MemThreshold, Sigdanger, LowmemState,
     OomNotify}
)


@dataclass(slots=True)
class Latest:
    """The newest events the panel shows as levels, kept as they are emitted (the log stops at
    LOG_CAP entries; this does not)."""

    vmpressure: VmpressureEvent | None = None
    mem_notify: MemNotifyWake | None = None
    psi_trigger: PsiTrigger | None = None
    notified: dict[int, PressureNotify] = field(default_factory=dict)  # pid -> newest notification
    marks: deque[Mark] = field(default_factory=lambda: deque(maxlen=MAX_MARKS))

    def note(self, ev: Event) -> None:
        if isinstance(ev, VmpressureEvent):
            self.vmpressure = ev
        elif isinstance(ev, MemNotifyWake):
            self.mem_notify = ev
        elif isinstance(ev, PressureNotify):
            self.notified[ev.pid] = ev
        elif isinstance(ev, PsiTrigger):
            self.psi_trigger = ev
        mark = chart_mark(ev)
        if mark is not None:
            self.marks.append(mark)


class PressureContext:
    """What the pressure mechanisms share: see the module docstring."""

    def __init__(self, sim: Host, spec: PressureSpec) -> None:
        self.sim = sim
        self.node = sim.node
        self.spec = spec
        self.uniforms = sim.uniforms
        self.tick_ms = sim.scenario.tick_ms
        self.tick_us = self.tick_ms * 1000
        self.swap = SwapSpace(spec.swap_pages)
        oc = spec.overcommit
        self.commit = Overcommit(
            oc.mode,
            oc.ratio,
            self.node.managed_pages,
            spec.swap_pages,
            self.node.free_pages,
            oc.admin_reserve_kbytes,
            oc.user_reserve_kbytes,
        )
        self.refusals: list[tuple[int, int, str]] = []  # (tick, free pages, who refused) at each ENOMEM
        #: the registered vm_enough_memory LSM (the lowmem module), if any
        self.lsm: VmEnoughMemoryLsm | None = None
        self.log: list[Event] = []
        self.delivered: dict[str, int] = {}
        self.stalls: dict[int, int] = {}
        #: the pid whose allocation is in direct reclaim (-1: none), charged the scan's stall
        self.current_owner = -1
        self.latest = Latest()

    def ticks(self, ms: int) -> int:
        return -(-ms // self.tick_ms)

    def emit(self, ev: Event, notable: bool = False) -> None:
        self.node.emit(ev)
        if notable and len(self.log) < LOG_CAP:
            self.log.append(ev)
        if type(ev) in _LATEST_TYPES:
            self.latest.note(ev)

    def stall(self, pid: int, us: int) -> None:
        self.stalls[pid] = min(self.tick_us, self.stalls.get(pid, 0) + us)
