"""Events the core emits: slotted dataclasses named after kernel tracepoints where one exists.

Each event carries the tick it happened on. `name` is the tracepoint name (or, where the kernel has
no tracepoint, a short snake_case name documented in docs/fidelity.md); `fields()` gives the
tracepoint's fields in the kernel's order, which `simcore.trace` prints as ftrace text lines.
Events are never changed after they are emitted, but they are not frozen dataclasses: creating a
frozen one costs three times as much, and a compaction run emits four per 32-page step.

`Node.emit()` stamps what ftrace records beside the fields: `seq`, the event's place among the
events of its tick (the trace clock's sub-tick offset, `simcore.trace.event_time_ns`), and `task`,
the task it ran in (`simcore.tasks`). The stamps are not fields: `fields()`, `repr()` and equality
leave them out, so the frame digests (which hash `repr(events)`) are those of the events' payload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from simcore.tasks import UNKNOWN, Task


@dataclass(slots=True)
class Event:
    name: ClassVar[str] = "event"
    tick: int
    #: its place among the events of its tick, from 0 (stamped by `Node.emit()`)
    seq: int = field(default=0, init=False, repr=False, compare=False)
    #: the task it ran in (stamped by `Node.emit()`)
    task: Task = field(default=UNKNOWN, init=False, repr=False, compare=False)

    def fields(self) -> dict[str, object]:
        """The event's payload in declaration order, without the tick and the stamps."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init and f.name != "tick"
        }


@dataclass(slots=True)
class MmPageAllocExtfrag(Event):
    """include/trace/events/kmem.h `mm_page_alloc_extfrag`: an allocation fell back to another type."""

    name: ClassVar[str] = "mm_page_alloc_extfrag"
    pfn: int
    alloc_order: int
    fallback_order: int
    alloc_migratetype: int
    fallback_migratetype: int
    fragmenting: int
    change_ownership: int


@dataclass(slots=True)
class AllocFail(Event):
    """The kernel's warn_alloc() "page allocation failure" (no tracepoint): every path failed."""

    name: ClassVar[str] = "page_alloc_fail"
    order: int
    gfp: str
    migratetype: int
    owner: int


@dataclass(slots=True)
class ActionApplied(Event):
    """A timeline or live action took effect (zonescope's own event, for the event log)."""

    name: ClassVar[str] = "action"
    action: str
    detail: str
