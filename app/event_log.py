"""A live session's event log: the event texts of the frames published so far, the newest few thousand.

Positions are absolute (they keep counting when old events are cut), so a viewer remembers the position
after the last event it was sent and later asks for everything since (app/live_session.py).
"""

from __future__ import annotations

from app.wire_types import EventInfo

EVENT_LOG_KEEP = 4000


class EventLog:
    def __init__(self, keep: int = EVENT_LOG_KEEP) -> None:
        self.keep = keep
        self.events: list[EventInfo] = []
        self.base = 0  # absolute position of events[0]

    @property
    def end(self) -> int:
        """The position after the newest event."""
        return self.base + len(self.events)

    def extend(self, events: list[EventInfo]) -> tuple[int, int]:
        """Append; returns the positions [start, end) of the new events. Over `keep`, the oldest
        events go (down to half of `keep`)."""
        start = self.end
        self.events.extend(events)
        if len(self.events) > self.keep:
            cut = len(self.events) - self.keep // 2
            del self.events[:cut]
            self.base += cut
        return start, self.end

    def between(self, start: int, end: int) -> list[EventInfo]:
        """The events at positions [start, end) that are still kept."""
        lo = max(start, self.base) - self.base
        return self.events[lo : end - self.base]
