"""The time series the page's charts draw, kept by the session so that a viewer who joins late, or
who seeks forward past ticks it never saw, gets the whole run so far instead of a gap.

One sample per tick the session steps (from the tick's record or frame): per zone the free
pages, the three watermarks and the order-9 fragmentation index, and the compaction counters the
charts plot. At most MAX_SAMPLES are kept: when full, the stride between kept ticks doubles and
every sample off the new stride goes, so a long run keeps an even spread. A keyframe keeps the history
as it was at its tick, and restoring it (a backward seek, a forward jump, a link started from a
shared keyframe) restores that; the replay records the ticks after it again. The `history` message carries
them as columns (docs/protocol.md).
"""

from __future__ import annotations

from typing import Final

from app.wire_types import HistoryMsg, HistoryZone
from simcore import Frame, TickRecord

#: vm_events counters of the compaction chart (the page reads them from hello.vocab.chart_counters)
COUNTERS: Final = (
    "compact_migrate_scanned", "compact_free_scanned", "compact_isolated",
    "compact_stall", "compact_success", "pgmigrate_success",
)
ZONE_FIELDS: Final = ("free_pages", "watermark_min", "watermark_low", "watermark_high", "fragindex_9")
MAX_SAMPLES: Final = 512

Sample = tuple[int, tuple[tuple[int, ...], ...], tuple[int, ...]]
#: a history as a keyframe keeps it: (samples, stride, zones)
HistorySnapshot = tuple[tuple[Sample, ...], int, tuple[tuple[str, int], ...]]


class ChartHistory:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.stride = 1
        self.zones: list[tuple[str, int]] = []  # (name, managed pages)
        # set while the run goes back and returns to the same state (SimRun.prefill_back): the
        # samples stay as they are, for the viewers who read them meanwhile
        self.frozen = False

    def clear(self) -> None:
        if self.frozen:
            return
        self.samples = []
        self.stride = 1

    def record(self, frame: Frame | TickRecord) -> None:
        """The sample of `frame`'s tick (replacing any sample at or after it: the run went back)."""
        if self.frozen:
            return
        if self.samples and self.samples[-1][0] >= frame.tick:
            self.truncate_after(frame.tick - 1)
        if frame.tick % self.stride:
            return
        self.zones = [(z.name, z.managed) for z in frame.zones]
        zones = tuple(tuple(getattr(z, f) for f in ZONE_FIELDS) for z in frame.zones)
        self.samples.append((frame.tick, zones, tuple(frame.vmstat.get(c, 0) for c in COUNTERS)))
        if len(self.samples) > MAX_SAMPLES:
            self.stride *= 2
            self.samples = [s for s in self.samples if s[0] % self.stride == 0]

    def snapshot(self) -> HistorySnapshot:
        """The history as it is (kept with a keyframe: restoring the keyframe restores it)."""
        return tuple(self.samples), self.stride, tuple(self.zones)

    def restore(self, snap: HistorySnapshot) -> None:
        """The history as a keyframe kept it: a jump to a keyframe, forward or back, or a run
        started from a shared one, has the samples of every tick before it, as a replay would."""
        if self.frozen:
            return
        samples, self.stride, zones = snap
        self.samples = list(samples)
        self.zones = list(zones)

    def truncate_after(self, tick: int) -> None:
        samples = self.samples
        while samples and samples[-1][0] > tick:
            samples.pop()

    def message(self) -> HistoryMsg:
        """The `history` message: the samples as columns, per zone and per counter."""
        samples = list(self.samples)  # one snapshot: a producer thread may be appending
        return {
            "type": "history",
            "tick": [s[0] for s in samples],
            "zones": [_zone_columns(name, managed, [s[1][i] for s in samples])
                      for i, (name, managed) in enumerate(self.zones)],
            "vmstat": {c: [s[2][k] for s in samples] for k, c in enumerate(COUNTERS)},
        }


def _zone_columns(name: str, managed: int, rows: list[tuple[int, ...]]) -> HistoryZone:
    """One zone's samples (rows in ZONE_FIELDS order) as columns."""
    free, wmin, low, high, frag = ([r[j] for r in rows] for j in range(len(ZONE_FIELDS)))
    return {"name": name, "managed": managed, "free_pages": free, "watermark_min": wmin,
            "watermark_low": low, "watermark_high": high, "fragindex_9": frag}
