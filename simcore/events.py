"""Events the core emits: slotted dataclasses named after kernel tracepoints where one exists.

Each event carries the tick it happened on. `name` is the tracepoint name (or, where the kernel has
no tracepoint, a short snake_case name documented in docs/fidelity.md); `fields()` gives the
tracepoint's fields in the kernel's order, which `simcore.trace` prints as ftrace text lines.
Events are never changed after they are emitted, but they are not frozen dataclasses: creating a
frozen one costs three times as much, and a compaction run emits four per 32-page step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar


@dataclass(slots=True)
class Event:
    name: ClassVar[str] = "event"
    tick: int

    def fields(self) -> dict[str, object]:
        """The event's payload in declaration order, without the tick."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "tick"}


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
