"""Benchmark: one page's per-page fields as six arrays or as one record (issue 12, `struct page`).

A numba loop picks a random slot of a 3/4-full arena of pfns (as a free picks a random live
allocation), then reads and writes that page's fields: kind, order, stream, index, list links and
the buddy's byte, in six arrays ("sep") or in one 20-byte record per page ("rec"). Prints million
touches per second, best of 3 rounds, for N pages (default 1,048,576: 4 GiB).

    python bench/bench_page_layout.py 4194304      # 16 GiB of pages
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np


@numba.njit
def separate(kind: Any, order: Any, stream: Any, index: Any, buddy: Any, lru: Any, arena: Any,
             rnd: Any) -> int:
    n = len(arena)
    acc = 0
    for k in range(len(rnd)):
        i = rnd[k] % n
        pfn = arena[i]
        acc += kind[pfn] + order[pfn] + stream[pfn] + index[pfn] + buddy[pfn ^ 1] + lru[2 * pfn]
        kind[pfn] = 1
        order[pfn] = 1
        stream[pfn] = 2
        index[pfn] = i
        lru[2 * pfn + 1] = pfn
    return acc


@numba.njit
def record(pg: Any, arena: Any, rnd: Any) -> int:
    n = len(arena)
    acc = 0
    for k in range(len(rnd)):
        i = rnd[k] % n
        pfn = arena[i]
        b = pfn * 5
        acc += pg[b] + pg[b + 1] + pg[b + 2] + pg[b + 3] + pg[(pfn ^ 1) * 5 + 4]
        pg[b] = 1
        pg[b + 1] = 2
        pg[b + 2] = i
        pg[b + 3] = pfn
    return acc


def best_rate(fn: Callable[..., int], args: tuple[Any, ...], ops: int) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return ops / best / 1e6


def main() -> None:
    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
    rng = np.random.default_rng(1)
    arena = rng.permutation(pages).astype(np.int64)[: pages * 3 // 4]
    ops = 5_000_000
    rnd = rng.integers(0, 1 << 40, ops)
    arrays = (np.zeros(pages, np.uint8), np.zeros(pages, np.uint8), np.zeros(pages, np.uint32),
              np.zeros(pages, np.uint32), np.zeros(pages, np.uint8), np.zeros(2 * pages, np.int32))
    pg = np.zeros(5 * pages, np.int32)
    separate(*arrays, arena, rnd[:10])
    record(pg, arena, rnd[:10])
    print(pages, "sep", round(best_rate(separate, (*arrays, arena, rnd), ops), 1), "M/s")
    print(pages, "rec", round(best_rate(record, (pg, arena, rnd), ops), 1), "M/s")


if __name__ == "__main__":
    main()
