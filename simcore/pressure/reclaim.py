"""Page reclaim: kswapd and direct reclaim over the simulated LRU lists.

Theory of operation. There is one node-wide "LRU" per type, made of streams: the file LRU holds
page cache and MADV_FREE pages, the anon LRU holds anonymous memory (scanned only while swap has
free slots). `shrink_node()` models `get_scan_count()` + `shrink_lruvec()`: at reclaim priority
`prio` it scans `lru_size >> prio` pages of each LRU: file only while there is cold page cache
(cache_trim_mode), anon only when the file LRU is tiny, else split by swappiness. It scans in
batches of SWAP_CLUSTER_MAX taken from one stream picked by size. A scanned page is "referenced"
(rotated, not reclaimed) with probability working_set / stream pages, so reclaim efficiency falls
as the cache shrinks toward what its owner keeps using; that is what vmpressure and the priority
react to. Reclaimed page cache and MADV_FREE pages are simply freed; anonymous pages go to swap
(pswpout). Reclaimable slab is shrunk alongside (counted as reclaimed, not as pgscan/pgsteal, as
`reclaim_state->reclaimed_slab` is).

Direct reclaim (`try_to_free_pages()`) walks the priority from DEF_PRIORITY (12) down until it has
SWAP_CLUSTER_MAX pages; kswapd (`balance_pgdat()`) reclaims until every zone is above its high
watermark (plus boost), with a per-tick page budget, and gives up after MAX_RECLAIM_RETRIES passes
without progress (`kswapd_failures`).
"""

from __future__ import annotations

from simcore.constants import CLASS_INFO, SWAP_CLUSTER_MAX, PageKind
from simcore.page_alloc import MAX_RECLAIM_RETRIES, AllocContext
from simcore.pressure.context import PressureContext
from simcore.pressure.events import DirectReclaimBegin, DirectReclaimEnd, KswapdSleep, KswapdWake
from simcore.pressure.meminfo import file_lru_pages
from simcore.pressure.notify.mem_notify import MemNotify
from simcore.pressure.notify.vmpressure import Vmpressure
from simcore.pressure.processes import TaskTable
from simcore.tasks import KSWAPD0
from simcore.watermarks import ALLOC_WMARK_MIN
from simcore.zone import WMARK_HIGH, Zone

DEF_PRIORITY = 12
#: at most this many pages are scanned per LRU per shrink_node() call (bounds the cost per call)
SCAN_LIMIT = 4096
#: PSI stall charged to a task per direct reclaim, per page scanned, per page written to swap (us)
RECLAIM_STALL_US = 100
SCAN_STALL_US = 1
SWAPOUT_STALL_US = 20
_ALLOCSTALL = {
    "DMA": "allocstall_dma",
    "DMA32": "allocstall_dma32",
    "Normal": "allocstall_normal",
    "HighMem": "allocstall_normal",
    "Movable": "allocstall_movable",
}
_FILE_KINDS = (PageKind.PAGECACHE, PageKind.LAZYFREE)


class Reclaimer:
    def __init__(self, hub: PressureContext, tasks: TaskTable, mem_notify: MemNotify | None,
                 vmpressure: Vmpressure | None) -> None:
        self.hub = hub
        self.tasks = tasks
        self.mem_notify = mem_notify  # told when reclaim turns to anonymous memory
        self.vmpressure = vmpressure  # told each shrink_node()'s scanned and reclaimed pages
        self.node = hub.node
        self.spec = hub.spec.reclaim
        self._nstreams = -1
        self.file_sids: list[int] = []
        self.anon_sids: list[int] = []
        self.slab_sids: list[int] = []
        # kswapd state (pgdat fields)
        self.kswapd_awake = False
        self.kswapd_running = False
        self.kswapd_order = 0
        self.kswapd_priority = DEF_PRIORITY
        self.kswapd_failures = 0
        self.kswapd_progress = 0
        # reclaim_throttle(VMSCAN_THROTTLE_NOPROGRESS): after a fruitless direct reclaim, the other
        # direct reclaimers of the same tick sleep instead of rescanning
        self._noprogress_tick = -1
        self.lowest_direct_priority = DEF_PRIORITY  # the lowest priority direct reclaim has reached
        # swap slots held by the workload generator's anonymous streams: sid -> pages
        self.wl_swapped: dict[int, int] = {}
        self.scanned_swap_tick = -1

    # -------------------------------------------------------------- the LRUs
    def _lists(self) -> None:
        streams = self.node.streams
        if len(streams) == self._nstreams:
            return
        self._nstreams = len(streams)
        self.file_sids = [s.sid for s in streams if s.kind in _FILE_KINDS]
        self.anon_sids = [s.sid for s in streams if s.kind == PageKind.ANON]
        self.slab_sids = [s.sid for s in streams if s.kind == PageKind.SLAB_RECLAIMABLE]

    def working_set(self, sid: int) -> int:
        st = self.node.streams[sid]
        if st.kind == PageKind.LAZYFREE:
            return 0
        owner = self.tasks.sid_pool.get(sid)
        if owner is None:
            return st.nr_pages * self.spec.referenced_percent // 100
        task, pool = owner
        if pool == "file":
            return task.spec.file_working_set
        return task.spec.anon_working_set if pool == "anon" else 0

    def shrink_list(self, sids: list[int], nr_to_scan: int, direct: bool, anon: bool) -> tuple[int, int]:
        """`shrink_inactive_list()` over the streams `sids`: (scanned, reclaimed) pages."""
        node = self.node
        streams = node.streams
        hub = self.hub
        swap = hub.swap
        ev = node.vm_events
        scanned = reclaimed = swapped = lazy = 0
        while scanned < nr_to_scan:
            sizes = [streams[s].nr_pages for s in sids]
            total = sum(sizes)
            if total == 0:
                break
            u = hub.uniforms.take(1 + 2 * SWAP_CLUSTER_MAX)
            x = u[0] * total
            i = 0
            while x >= sizes[i] and i < len(sids) - 1:
                x -= sizes[i]
                i += 1
            st = streams[sids[i]]
            ws = self.working_set(st.sid)
            pfns = st.pfns
            for j in range(1, 1 + 2 * SWAP_CLUSTER_MAX, 2):
                if not pfns or scanned >= nr_to_scan:
                    break
                pfn = pfns[int(u[j] * len(pfns))]
                n = 1 << (node.alloc_order[pfn] - 1)
                scanned += n
                if u[j + 1] * st.nr_pages < ws:
                    continue  # referenced: rotated back
                kind = node.kind[pfn]
                if kind == PageKind.ANON:
                    if swap.free < n:
                        continue
                    swap.used += n
                    swapped += n
                    owner = self.tasks.sid_pool.get(st.sid)
                    if owner is not None:
                        owner[0].swapped[owner[1]] += n
                    else:
                        self.wl_swapped[st.sid] = self.wl_swapped.get(st.sid, 0) + n
                elif kind == PageKind.LAZYFREE:
                    lazy += n
                reclaimed += node.free_alloc(pfn)
        kind_name = "anon" if anon else "file"
        mode = "direct" if direct else "kswapd"
        ev["pgscan_" + mode] += scanned
        ev["pgsteal_" + mode] += reclaimed
        ev["pgscan_" + kind_name] += scanned
        ev["pgsteal_" + kind_name] += reclaimed
        ev["pswpout"] += swapped
        if lazy:
            ev["pglazyfreed"] += lazy
        if direct and hub.current_owner >= 0:
            hub.stall(hub.current_owner, SCAN_STALL_US * scanned + SWAPOUT_STALL_US * swapped)
        return scanned, reclaimed

    def shrink_slab(self, priority: int) -> int:
        """`shrink_slab()`: drop reclaimable slab in proportion to the scan (objects freed whole)."""
        node = self.node
        reclaimed = 0
        for sid in self.slab_sids:
            st = node.streams[sid]
            nr = min(st.nr_pages >> priority, SCAN_LIMIT)
            while nr > 0 and st.pfns:
                n = node.free_alloc(st.pfns[-1])
                nr -= n
                reclaimed += n
        return reclaimed

    def shrink_node(self, nr_to_reclaim: int, priority: int, direct: bool) -> tuple[int, int]:
        """Models `shrink_node()` / `get_scan_count()` at one priority: (scanned, reclaimed)."""
        self._lists()
        node = self.node
        hub = self.hub
        file_size = file_lru_pages(node)
        anon_size = node.nr_kind_pages[PageKind.ANON] if hub.swap.free > 0 else 0
        scan_file = file_size >> priority
        scan_anon = anon_size >> priority
        if anon_size and file_size:
            self._lists()
            cold_file = sum(max(0, node.streams[s].nr_pages - self.working_set(s)) for s in self.file_sids)
            high = sum(z.watermark[WMARK_HIGH] for z in node.zones)
            if cold_file >> priority:
                scan_anon = 0  # cache_trim_mode: enough cold page cache, leave anon alone
            elif file_size + node.free_pages <= high:
                scan_file = 0  # file_is_tiny: SCAN_ANON
            else:
                swappiness = self.spec.swappiness
                scan_anon = scan_anon * swappiness // 200
                scan_file = scan_file * (200 - swappiness) // 200
        if priority == 0:
            scan_file = max(scan_file, min(file_size, SWAP_CLUSTER_MAX))
        scanned = reclaimed = 0
        if scan_file:
            s, r = self.shrink_list(self.file_sids, min(scan_file, SCAN_LIMIT), direct, False)
            scanned += s
            reclaimed += r
        if scan_anon and (reclaimed < nr_to_reclaim or not direct):
            s, r = self.shrink_list(self.anon_sids, min(scan_anon, SCAN_LIMIT), direct, True)
            scanned += s
            reclaimed += r
            if s and self.mem_notify is not None:
                self.mem_notify.memory_pressure_notify(node.zones[-1])
        elif priority <= DEF_PRIORITY - 2 and reclaimed < nr_to_reclaim and self.mem_notify is not None:
            self.mem_notify.memory_pressure_notify(node.zones[-1])  # no swap: struggling with the file LRU
        reclaimed += self.shrink_slab(priority) if self.slab_sids else 0
        if self.vmpressure is not None:
            self.vmpressure.account(scanned, reclaimed)  # slab counts as reclaimed, not scanned
        return scanned, reclaimed

    # -------------------------------------------------------- direct reclaim
    def direct_reclaim(self, ac: AllocContext) -> tuple[int, int]:
        """Models `__alloc_pages_direct_reclaim()` -> `try_to_free_pages()`, then one more try."""
        node = self.node
        hub = self.hub
        if self._noprogress_tick == node.tick:
            return -1, 0  # throttled: reclaim already failed to make progress this tick
        node.emit(DirectReclaimBegin(node.tick, ac.order, CLASS_INFO[ac.kind].gfp))
        node.vm_events[_ALLOCSTALL[ac.zonelist[0].name]] += 1
        owner = node.streams[ac.sid].owner
        hub.current_owner = owner
        hub.stall(owner, RECLAIM_STALL_US)
        reclaimed = 0
        for priority in range(DEF_PRIORITY, -1, -1):
            if self.vmpressure is not None:
                self.vmpressure.prio(priority)
            reclaimed += self.shrink_node(SWAP_CLUSTER_MAX - reclaimed, priority, True)[1]
            if reclaimed >= SWAP_CLUSTER_MAX:
                break
        self.lowest_direct_priority = min(self.lowest_direct_priority, priority)
        hub.current_owner = -1
        node.emit(DirectReclaimEnd(node.tick, reclaimed))
        if reclaimed:
            self.kswapd_failures = 0
        else:
            self._noprogress_tick = node.tick
        return node.get_page_from_freelist(ac, ALLOC_WMARK_MIN), reclaimed

    def expire_workload_swap(self) -> None:
        """Swapped-out pages of the workload generator's streams die at the stream's rate: with
        memoryless lifetimes a tick ends 1/lifetime of them (rounded up), freeing their swap slots."""
        if not self.wl_swapped:
            return
        streams = self.node.streams
        swap = self.hub.swap
        for sid, n in list(self.wl_swapped.items()):
            life = int(streams[sid].lifetime)
            gone = min(n, -(-n // life)) if life > 0 else 0
            swap.used -= gone
            if n - gone:
                self.wl_swapped[sid] = n - gone
            else:
                del self.wl_swapped[sid]

    # ------------------------------------------------------------------ kswapd
    def balanced(self) -> bool:
        """`pgdat_balanced()`: every zone above its (boosted) high watermark."""
        return all(z.free_pages > z.watermark[WMARK_HIGH] + z.watermark_boost for z in self.node.zones)

    def wakeup_kswapd(self, ac: AllocContext) -> None:
        """Models `wakeup_kswapd()` (called by `wake_all_kswapds()` from the slow path)."""
        if self.kswapd_awake or not self.spec.kswapd or self.kswapd_failures >= MAX_RECLAIM_RETRIES:
            return
        if self.balanced():
            return
        self.kswapd_awake = True
        self.kswapd_order = ac.order

    def wake_boosted(self, zone: Zone) -> None:
        """rmqueue() saw ZONE_BOOSTED_WATERMARK: wake kswapd to reclaim up to the boosted mark."""
        if not self.kswapd_awake and self.spec.kswapd and self.kswapd_failures < MAX_RECLAIM_RETRIES:
            self.kswapd_awake = True
            self.kswapd_order = 0

    def kswapd_tick(self) -> None:
        """One tick of `kswapd()` / `balance_pgdat()` with a page budget, run as kswapd0."""
        if not self.kswapd_awake:
            return
        with self.node.running(KSWAPD0):
            self._balance_pgdat()

    def _balance_pgdat(self) -> None:
        node = self.node
        if not self.kswapd_running:
            self.kswapd_running = True
            self.kswapd_priority = DEF_PRIORITY
            self.kswapd_progress = 0
            node.vm_events["pageoutrun"] += 1
            node.emit(KswapdWake(node.tick, node.nid, node.zones[-1].idx, self.kswapd_order))
        budget = self.spec.kswapd_pages_per_tick
        while not self.balanced() and budget > 0:
            deficit = sum(max(0, z.wmark_high - z.free_pages) for z in node.zones)
            nr = min(max(SWAP_CLUSTER_MAX, deficit), budget)
            scanned, reclaimed = self.shrink_node(nr, self.kswapd_priority, False)
            budget -= max(scanned, SWAP_CLUSTER_MAX)
            self.kswapd_progress += reclaimed
            if reclaimed < nr:
                if self.kswapd_priority > 1:
                    self.kswapd_priority -= 1
                    continue
                # a whole pass down to priority 1 ended: pgdat->kswapd_failures++ if it made no progress
                if not self.kswapd_progress:
                    self.kswapd_failures += 1
                self.kswapd_priority = DEF_PRIORITY
                self.kswapd_progress = 0
                break
        if self.balanced() or self.kswapd_failures >= MAX_RECLAIM_RETRIES:
            for z in node.zones:
                z.watermark_boost = 0
            self.kswapd_awake = False
            self.kswapd_running = False
            node.emit(KswapdSleep(node.tick, node.nid))
