"""A NUMA node (`pg_data_t`): its zones, the per-page and per-pageblock arrays, owners and counters.

Page arrays are indexed by absolute pfn; pfn 0 is the node's first page. They are bytearrays (or
4-byte `array.array`s) so that hot paths index them as cheaply as a Python list, a million pages
stay within a few MiB of cache-friendly memory, and `numpy.frombuffer` views them without a copy
when a frame is built:

* ``kind[pfn]``         PageKind (0 free)
* ``buddy[pfn]``        order + 1 at the head of a free block
* ``alloc_order[pfn]``  order + 1 at the head of an allocation
* ``alloc_stream[pfn]`` the stream (owner + class) of the allocation headed here
* ``alloc_index[pfn]``  its position in that stream's ``pfns`` (`Stream.where`; stale when not a head)
* ``pb_mt[block]``, ``pb_skip[block]``, ``pb_zone[block]`` per pageblock
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from simcore.buddy import FreeLists
from simcore.constants import (
    CLASS_INFO,
    NR_PAGE_KINDS,
    NR_PAGE_ORDERS,
    PAGEBLOCK_ORDER,
    ZONE_BY_NAME,
    MigrateType,
    Mode,
    PageKind,
    ZoneType,
)
from simcore.events import Event
from simcore.jit import py
from simcore.kernels.alloc import NNSTAT, NS_PGFREE, NS_THP_FAULT_ALLOC
from simcore.kernels.alloc import free_alloc_at as _free_alloc_at_kernel
from simcore.owners import KERNEL_PID, Process, Stream, StreamStore
from simcore.page_alloc import PageAllocator, SlowpathHooks
from simcore.scenario import NodeSpec, VmSpec
from simcore.tasks import KWORKER, Task, process_task
from simcore.vmevents import new_vm_events
from simcore.watermarks import (
    ALLOC_WMARK_LOW,
    calculate_min_free_kbytes,
    setup_per_zone_lowmem_reserve,
    setup_per_zone_wmarks,
)
from simcore.zone import Zone

_free_alloc_at = py(_free_alloc_at_kernel)

#: Number of zone types in the kernel config of each arch (the length of "protection:" lines).
NR_ZONE_TYPES = {"x86_64": 5, "x86_32": 4}


class Node(PageAllocator):
    def __init__(self, spec: NodeSpec, vm: VmSpec, rng: np.random.Generator, nid: int = 0) -> None:
        self.nid = nid
        self.arch = spec.arch
        self.rng = rng
        self.tick = 0
        total = spec.total_pages
        self.nr_pages = total
        self.kind = bytearray(total)
        self.buddy = bytearray(total)
        self.alloc_order = bytearray(total)
        # typed arrays (4 bytes a page): small, and reading one makes no pointer chase to an int object
        self.alloc_stream = array("I", bytes(4 * total))
        self.alloc_index = array("I", bytes(4 * total))
        nblocks = total >> PAGEBLOCK_ORDER
        # memmap_init(): every pageblock starts MIGRATE_MOVABLE
        self.pb_mt = bytearray([MigrateType.MOVABLE]) * nblocks
        self.pb_skip = bytearray(nblocks)
        self.pb_zone = bytearray(nblocks)
        self.zones: list[Zone] = []
        self.fl = FreeLists(total, len(spec.zones))
        pfn = 0
        for zs in spec.zones:
            z = Zone(
                ZONE_BY_NAME[zs.name],
                pfn,
                pfn + zs.pages,
                self.kind,
                self.buddy,
                self.pb_mt,
                self.pb_skip,
                self.fl,
                len(self.zones),
            )
            first, nblocks_z = pfn >> PAGEBLOCK_ORDER, zs.pages >> PAGEBLOCK_ORDER
            self.pb_zone[first : first + nblocks_z] = bytes([len(self.zones)]) * nblocks_z
            self.zones.append(z)
            pfn += zs.pages
        self.zone_by_name = {z.name: z for z in self.zones}
        # owners and their allocations
        self.procs: dict[int, Process] = {KERNEL_PID: Process(KERNEL_PID, "kernel")}
        self.pid_by_comm: dict[str, int] = {"kernel": KERNEL_PID}
        self.streams: list[Stream] = []
        self.stream_store = StreamStore()
        self.stream_by_key: dict[tuple[int, str], int] = {}
        # counters (typed arrays: the compiled kernels update them in place)
        self.nr_kind_pages = array("q", bytes(8 * NR_PAGE_KINDS))
        self.nstat = array("q", bytes(8 * NNSTAT))
        # allocations by order (`alloc_stats()`): successes of the fast path; requests and
        # successes of the full `alloc_pages()`
        self.nr_alloc_fast = array("q", bytes(8 * NR_PAGE_ORDERS))
        self.nr_alloc_tried = [0] * NR_PAGE_ORDERS
        self.nr_alloc_ok = [0] * NR_PAGE_ORDERS
        self.vm_events = new_vm_events()
        self.nr_isolated = [0, 0]  # pages isolated for migration: anon, file
        self.events: list[Event] = []
        self.event_counts: dict[str, int] = {}
        #: the task the node runs for now (`running()`), stamped on every event; the tick and the
        #: place in it of the last event emitted (`emit()`)
        self.task: Task = KWORKER
        self._tasks: dict[int, Task] = {KERNEL_PID: KWORKER}
        self._seq_tick = -1
        self._seq = 0
        self.listeners: list[Callable[[Event], None]] = []
        self.hooks = SlowpathHooks()
        self.mode = Mode.MODERN
        self._fill = [[bytes([k]) * (1 << o) for o in range(NR_PAGE_ORDERS)] for k in range(NR_PAGE_KINDS)]
        self._zonelists: dict[int, list[Zone]] = {}
        # per PageKind: (preferred zone, migratetype, highest_zoneidx) for alloc_pages_fast()
        self._preferred: list[tuple[Zone, int, int] | None] = [None] * NR_PAGE_KINDS
        for k in CLASS_INFO:
            ac = self.alloc_context(0, k, 0)
            self._preferred[k] = (ac.zonelist[0], ac.migratetype, ac.highest_zoneidx)
        self.zone_start = array("q", [z.start_pfn for z in self.zones])
        self.zone_end = array("q", [z.end_pfn for z in self.zones])
        # alloc_fast()'s view of `_preferred` (refreshed by `kernel_state()`)
        self.pref_zone = array("q", [-1]) * NR_PAGE_KINDS
        self.pref_mt = array("q", bytes(8 * NR_PAGE_KINDS))
        self.pref_mark = array("q", bytes(8 * NR_PAGE_KINDS))
        self.apply_vm(vm)
        self._boot_free()

    # ----------------------------------------------------------------- setup
    def apply_vm(self, vm: VmSpec) -> None:
        self.vm = vm
        lowmem = sum(z.managed for z in self.zones if z.ztype not in (ZoneType.HIGHMEM, ZoneType.MOVABLE))
        self.min_free_kbytes = vm.min_free_kbytes or calculate_min_free_kbytes(lowmem)
        setup_per_zone_wmarks(self.zones, self.min_free_kbytes, vm.watermark_scale_factor)
        setup_per_zone_lowmem_reserve(self.zones, NR_ZONE_TYPES[self.arch])
        for z in self.zones:
            z.watermark_boost_factor = vm.watermark_boost_factor

    def _boot_free(self) -> None:
        """`memblock_free_all()`: hand every page to the buddy allocator in MAX_PAGE_ORDER blocks."""
        for z in self.zones:
            pfn = z.start_pfn
            while pfn < z.end_pfn:
                order = NR_PAGE_ORDERS - 1
                while pfn & ((1 << order) - 1) or pfn + (1 << order) > z.end_pfn:
                    order -= 1
                z.free_one_page(pfn, order)
                pfn += 1 << order

    def zonelist(self, highest_zoneidx: int) -> list[Zone]:
        """Zones an allocation may use, preferred (highest) first: the node's zonelist."""
        zl = self._zonelists.get(highest_zoneidx)
        if zl is None:
            zl = [z for z in reversed(self.zones) if z.idx <= highest_zoneidx]
            self._zonelists[highest_zoneidx] = zl
        return zl

    def zone_of(self, pfn: int) -> Zone:
        return self.zones[self.pb_zone[pfn >> PAGEBLOCK_ORDER]]

    # ---------------------------------------------------------------- owners
    def process(self, comm: str) -> int:
        """The pid of the process named `comm`, created on first use."""
        pid = self.pid_by_comm.get(comm)
        if pid is None:
            pid = max(self.procs) + 1
            self.procs[pid] = Process(pid, comm, start_tick=self.tick)
            self.pid_by_comm[comm] = pid
        return pid

    def stream(self, owner: int, name: str, kind: int, lifetime: float = 0.0) -> Stream:
        sid = self.stream_by_key.get((owner, name))
        if sid is None:
            sid = self.stream_store.new()
            self.streams.append(Stream(sid, name, owner, kind, lifetime, self.stream_store, self.alloc_index))
            self.stream_by_key[(owner, name)] = sid
        return self.streams[sid]

    def task_of(self, pid: int) -> Task:
        """The task of the model's process `pid` (the kernel's own allocations: the kworker)."""
        t = self._tasks.get(pid)
        if t is None:
            t = process_task(pid, self.procs[pid].comm)
            self._tasks[pid] = t
        return t

    @contextmanager
    def running(self, task: Task) -> Iterator[None]:
        """Emit as `task` inside the block (a kernel thread's work, a process's syscall)."""
        prev = self.task
        self.task = task
        try:
            yield
        finally:
            self.task = prev

    # ---------------------------------------------------------------- events
    def emit(self, ev: Event) -> None:
        """Log `ev`, stamped with its place in its tick and the task running (`simcore.events`)."""
        if ev.tick != self._seq_tick:
            self._seq_tick = ev.tick
            self._seq = 0
        ev.seq = self._seq
        self._seq += 1
        ev.task = self.task
        self.events.append(ev)
        self.event_counts[ev.name] = self.event_counts.get(ev.name, 0) + 1
        for fn in self.listeners:
            fn(ev)

    # --------------------------------------------------- allocation records
    def commit_alloc(self, pfn: int, order: int, kind: int, sid: int) -> None:
        """Mark a block taken from the buddy lists as an allocation of `kind` owned by stream `sid`."""
        n = 1 << order
        self.kind[pfn : pfn + n] = self._fill[kind][order]
        self.alloc_order[pfn] = order + 1
        self.alloc_stream[pfn] = sid
        self.streams[sid].add(pfn, n)
        self.nr_kind_pages[kind] += n

    def free_alloc(self, pfn: int) -> int:
        """Free the allocation headed at `pfn` (`__free_pages`). Returns the pages freed."""
        sid = self.alloc_stream[pfn]
        i = self.alloc_index[pfn]
        pfns = self.streams[sid].pfns
        if not self.alloc_order[pfn] or i >= len(pfns) or pfns[i] != pfn:
            raise ValueError(f"pfn {pfn} does not head an allocation")
        return self.free_alloc_at(sid, i)

    def free_alloc_at(self, sid: int, i: int) -> int:
        """Free the `i`-th live allocation of stream `sid` (`__free_pages`). Returns the pages freed.

        The workload's hot path: it knows the stream and the position, so the per-pfn
        ``alloc_stream`` / ``alloc_index`` lookups are skipped (`simcore.kernels.alloc.free_alloc_at`).
        """
        pages, lists, streams, counters, zgeo, _ = self.kernel_state(refresh=False)
        return _free_alloc_at(pages, lists, streams, counters, zgeo, sid, i)

    # ------------------------------------------------------------- kernels
    def kernel_state(self, refresh: bool = True) -> tuple[tuple[Any, ...], ...]:
        """The node's buffers as the compiled kernels take them (`simcore.kernels.alloc`):
        ``(pages, lists, streams, counters, zgeo, pref)``. Valid until a stream grows; with
        `refresh`, the fast path's per-kind zone and threshold are brought up to date first."""
        if refresh:
            self.refresh_pref()
        fl = self.fl
        store = self.stream_store
        return (
            (self.kind, self.buddy, self.alloc_order, self.alloc_stream, self.alloc_index, self.pb_mt,
             self.pb_zone),
            (fl.head, fl.count, fl.lru, fl.zstat),
            (store.arena, store.start, store.length, store.pages),
            (self.nr_kind_pages, self.nr_alloc_fast, self.nstat),
            (self.zone_start, self.zone_end),
            (self.pref_zone, self.pref_mt, self.pref_mark),
        )

    def refresh_pref(self) -> None:
        """`pref_*` from `_preferred` and the zones' watermarks: a boosted zone takes the full path."""
        for k, pref in enumerate(self._preferred):
            if pref is None:
                continue
            z, mt, highest = pref
            self.pref_zone[k] = -1 if z.boosted else z.zi
            self.pref_mt[k] = mt
            mark = z.watermark[ALLOC_WMARK_LOW] + z.watermark_boost + z.lowmem_reserve[highest]
            self.pref_mark[k] = mark + z.nr_free_highatomic

    def move_alloc(self, src: int, dst: int) -> None:
        """Migration's last step: the allocation at `src` now lives at `dst` (already taken off the
        free lists by the caller); `src` pages become free pages the caller must give back."""
        order = self.alloc_order[src] - 1
        n = 1 << order
        kind = self.kind[src]
        sid = self.alloc_stream[src]
        self.kind[dst : dst + n] = self._fill[kind][order]
        self.alloc_order[dst] = order + 1
        self.alloc_stream[dst] = sid
        self.kind[src : src + n] = self._fill[0][order]
        self.alloc_order[src] = 0
        self.streams[sid].replace(src, dst)

    # -------------------------------------------------------------- totals
    @property
    def pgfree(self) -> int:
        """``pgfree``: pages freed."""
        return self.nstat[NS_PGFREE]

    @pgfree.setter
    def pgfree(self, value: int) -> None:
        self.nstat[NS_PGFREE] = value

    @property
    def thp_fault_alloc(self) -> int:
        """``thp_fault_alloc``: huge-class allocations of HPAGE_PMD_ORDER that succeeded."""
        return self.nstat[NS_THP_FAULT_ALLOC]

    @property
    def free_pages(self) -> int:
        return sum(z.free_pages for z in self.zones)

    @property
    def managed_pages(self) -> int:
        return sum(z.managed for z in self.zones)

    @property
    def allocated_pages(self) -> int:
        return sum(self.nr_kind_pages[k] for k in CLASS_INFO)

    def kind_view(self) -> np.ndarray:
        """A zero-copy numpy view of the per-page kind bytes (valid until the next step)."""
        return np.frombuffer(self.kind, dtype=np.uint8)

    def allocation_heads(self) -> np.ndarray:
        """pfns of every allocation head, in physical address order."""
        return np.flatnonzero(np.frombuffer(self.alloc_order, dtype=np.uint8))

    def kind_pages(self, kind: PageKind) -> int:
        return self.nr_kind_pages[kind]
