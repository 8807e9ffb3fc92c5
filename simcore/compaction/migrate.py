"""`migrate_pages()` for compaction: move each isolated allocation into an isolated free page."""

from __future__ import annotations

from simcore.compaction.context import FILE_NP, Compactor
from simcore.compaction.control import CompactControl
from simcore.compaction.events import MmCompactionMigratepages
from simcore.compaction.free_scan import compaction_alloc, compaction_free

ENOMEM = -12


def migrate_pages(c: Compactor, cc: CompactControl) -> int:
    """Models `migrate_pages(&cc->migratepages, compaction_alloc, compaction_free, ...)`.

    Every isolated allocation moves, owner and all (`Node.move_alloc`), into a destination from
    `compaction_alloc()`; its old pages are freed into the buddy allocator (where they merge). A
    configurable share of migrations fails (`migrate_fail_rate`, as pages under writeback or pinned
    would): the page stays where it is and the destination goes back. If no destination can be
    found for an order-0 page the rest is put back and -ENOMEM returned, as the kernel does; a
    compound page without a destination of its order counts as one failure. Returns 0 or -ENOMEM.
    """
    node = c.node
    zone = cc.zone
    alloc_order = node.alloc_order
    kind = node.kind
    fail_rate = c.settings.migrate_fail_rate
    draws = c.node.rng.random(len(cc.migratepages)).tolist() if fail_rate > 0 else None
    nr_succeeded = nr_failed = 0
    err = 0
    nr_isolated = node.nr_isolated
    move_alloc = node.move_alloc
    free_one_page = zone.free_one_page
    for i, src in enumerate(cc.migratepages):
        order = alloc_order[src] - 1
        n = 1 << order
        lru = 1 if FILE_NP[kind[src]] else 0
        nr_isolated[lru] -= n
        if err:
            continue  # put back: it stays where it is
        dst = compaction_alloc(c, cc, order)
        if dst < 0:
            if order == 0:
                err = ENOMEM
            nr_failed += n
            continue
        if draws is not None and draws[i] < fail_rate:
            compaction_free(cc, dst, order)
            nr_failed += n
            continue
        move_alloc(src, dst)
        free_one_page(src, order)
        node.pgfree += n
        nr_succeeded += n
    cc.migratepages.clear()
    cc.nr_migratepages = 0
    ev = node.vm_events
    cc.nr_migrated += nr_succeeded
    cc.nr_failed += nr_failed
    if c.old:
        ev["compact_blocks_moved"] += 1
        ev["compact_pages_moved"] += nr_succeeded
        ev["compact_pagemigrate_failed"] += nr_failed
    else:
        ev["pgmigrate_success"] += nr_succeeded
        ev["pgmigrate_fail"] += nr_failed
    node.emit(MmCompactionMigratepages(node.tick, nr_succeeded, nr_failed))
    return err
