"""Compiled kernels: the simulation's hot paths as numba functions over the node's arrays.

Theory of operation
-------------------
The Python objects (`Simulation`, `Node`, `Zone`, the subsystems) are the API and own the state;
the state itself is a set of flat integer buffers (``bytearray`` and ``array.array``, which CPython
indexes cheaply and numba takes without a copy). The kernels here take those buffers and plain ints,
never objects, so each runs compiled (numba, `simcore.jit`) or as Python (``NUMBA_DISABLE_JIT=1``)
from one source:

* `simcore.kernels.lists`: the buddy free lists, kernel style: one circular doubly linked list
  per (zone, order, migratetype), threaded through per-page ``next`` / ``prev`` arrays (``struct
  page.lru``), with a head and a length per list. ``list_add`` puts a block at the head, where the
  allocator also takes blocks (``get_page_from_free_area``).
* `simcore.kernels.buddy`: `__free_one_page` with merging, ``expand``, ``__rmqueue_smallest``,
  ``__move_freepages_block``.
* `simcore.kernels.alloc`: the workload's per-event loop with the allocator's fast path and
  ``__free_pages``; it stops and hands back to Python on anything the fast path does not cover
  (a watermark miss, a fallback, a full stream array), which then runs the full Python code.

Kernels write no events: the fast path has none to write (an allocation from the request's own
free lists traces nothing the simulation keeps), and every path that does emit events runs in
Python.
"""
