"""The lens registry: every way the map can colour a cell, in one table the page is built from.

A lens turns a frame into one uint8 value per cell (app/encoder.py frames them) and names the classes
of values its legend shows. The lens id in the binary header is the lens's position in `LENSES`, so
new lenses go at the end. Adding a lens is one entry here (its encoder function and its classes) and
one colour entry per class key in static/js/palette.js; the page learns the rest from `hello`
(app/vocab.py), and the test in tests/test_app_vocab.py fails when a class has no colour.

Each class is a closed range of cell values with a `key` (what palette.js colours it by) and a
`label` (what the legend and the tooltip say). Class keys come from the vocabulary they show: the
migratetype names, the `PageKind` names, the `SkipReason` names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from simcore import (
    MIGRATETYPE_NAMES,
    MOBILITY,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    Frame,
    PageKind,
    SkipReason,
)

Values = Callable[[Frame, int, int], np.ndarray]

#: the free lens's scale: a cell's value is FREE_SCALE x its free share (200 = every page free)
FREE_SCALE: Final = 200
#: the mix lens adds this when a cell mixes more than one allocated mobility
MIXED: Final = 10
#: the skip lens: the skip bit without a recorded reason; a reason r is drawn as skip_value(r)
SKIP_BIT_ONLY: Final = 1


def skip_value(reason: SkipReason) -> int:
    """The skip lens's cell value of a block passed by for `reason` (0 = not skipped)."""
    return 0 if reason == SkipReason.NONE else int(reason) + SKIP_BIT_ONLY


@dataclass(frozen=True, slots=True)
class LensClass:
    """Cell values lo..hi (inclusive) of one legend entry."""

    key: str
    label: str
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class Lens:
    name: str
    label: str
    pageblock: Values  # (frame, first block, end block) -> a value per pageblock
    page: Values | None  # (frame, first pfn, end pfn) -> a value per page; None: its pageblock's value
    classes: tuple[LensClass, ...]


def one(key: str, label: str, value: int) -> LensClass:
    return LensClass(key, label, value, value)


# ------------------------------------------------------------- encoder functions
def _migratetype(frame: Frame, b0: int, b1: int) -> np.ndarray:
    return frame.pb_mt[b0:b1].astype(np.uint8)


def _free(frame: Frame, b0: int, b1: int) -> np.ndarray:
    return (frame.pb_free[b0:b1].astype(np.uint32) * FREE_SCALE // PAGEBLOCK_NR_PAGES).astype(np.uint8)


def _free_page(frame: Frame, p0: int, p1: int) -> np.ndarray:
    return np.where(frame.page_kind[p0:p1] == PageKind.FREE, FREE_SCALE, 0).astype(np.uint8)


def _largest_order(frame: Frame, b0: int, b1: int) -> np.ndarray:
    return (frame.pb_largest_order[b0:b1].astype(np.int16) + 1).astype(np.uint8)


def _mix(frame: Frame, b0: int, b1: int) -> np.ndarray:
    sl = slice(b0, b1)
    free = frame.pb_free[sl].astype(np.int32)
    mov = frame.pb_movable[sl].astype(np.int32)
    rec = frame.pb_reclaimable[sl].astype(np.int32)
    unm = frame.pb_unmovable[sl].astype(np.int32)
    other = PAGEBLOCK_NR_PAGES - free - mov - rec - unm
    dominant = np.argmax(np.stack([free, mov, rec, unm, other]), axis=0).astype(np.uint8)
    mixed = (mov > 0).astype(np.uint8) + (rec > 0) + (unm > 0) >= 2
    out: np.ndarray = dominant + np.where(mixed, MIXED, 0).astype(np.uint8)
    return out


def _mix_page(frame: Frame, p0: int, p1: int) -> np.ndarray:
    mobility: np.ndarray = MOBILITY[frame.page_kind[p0:p1]]
    return mobility


def _skip(frame: Frame, b0: int, b1: int) -> np.ndarray:
    reason = frame.pb_skip_reason[b0:b1].astype(np.uint8)
    skip = frame.pb_skip[b0:b1] != 0
    cells: np.ndarray = np.where(reason > 0, reason + SKIP_BIT_ONLY, np.where(skip, SKIP_BIT_ONLY, 0))
    return cells.astype(np.uint8)


#: per-pageblock page_kind counts every page up to this many pages in the view, then samples
EXACT_KIND_PAGES: Final = 1 << 20


def _page_kind(frame: Frame, b0: int, b1: int) -> np.ndarray:
    nb = b1 - b0
    kind = frame.page_kind[b0 << PAGEBLOCK_ORDER : b1 << PAGEBLOCK_ORDER].reshape(nb, PAGEBLOCK_NR_PAGES)
    if kind.size > EXACT_KIND_PAGES:  # large views: the most common kind among every 8th page
        kind = kind[:, ::8]
    idx = kind.astype(np.int32) + (np.arange(nb, dtype=np.int32) * 16)[:, None]
    counts = np.bincount(idx.ravel(), minlength=nb * 16).reshape(nb, 16)
    dominant: np.ndarray = np.argmax(counts, axis=1).astype(np.uint8)
    return dominant


def _page_kind_page(frame: Frame, p0: int, p1: int) -> np.ndarray:
    return frame.page_kind[p0:p1].astype(np.uint8)


# ------------------------------------------------------------------ the classes
def page_kind_name(kind: PageKind) -> str:
    return kind.name.lower()


_MOBILITIES: Final = ("free", "movable", "reclaimable", "unmovable", "other")
_FREE_BANDS: Final = (("under25", 1, 49, "< 25%"), ("to50", 50, 99, "25-50%"), ("to75", 100, 149, "50-75%"),
                      ("to99", 150, 199, "75-99%"))


def _free_classes() -> tuple[LensClass, ...]:
    bands = tuple(LensClass(key, label, lo, hi) for key, lo, hi, label in _FREE_BANDS)
    return (one("none", "0% free", 0), *bands, one("all", "100% free", FREE_SCALE))


def _largest_order_classes() -> tuple[LensClass, ...]:
    orders = tuple(one(f"order{o}", f"order {o}", o + 1) for o in range(NR_PAGE_ORDERS))
    return (one("none", "none", 0), *orders)


def _mix_classes() -> tuple[LensClass, ...]:
    pure = tuple(one(m, m, i) for i, m in enumerate(_MOBILITIES))
    mixed = tuple(one(f"mixed_{m}", f"mixed, mostly {m}" if m != "other" else "mixed, other", MIXED + i)
                  for i, m in enumerate(_MOBILITIES))
    return pure + mixed


def _skip_classes() -> tuple[LensClass, ...]:
    reasons = tuple(one(r.name, r.label, skip_value(r)) for r in SkipReason if r != SkipReason.NONE)
    bit_only = one("skip_bit", "skip bit set (no reason recorded)", SKIP_BIT_ONLY)
    return (one("none", "no skip bit", 0), bit_only, *reasons)


LENSES: Final = (
    Lens("migratetype", "migratetype", _migratetype, None,
         tuple(one(name, name, i) for i, name in enumerate(MIGRATETYPE_NAMES))),
    Lens("free", "free pages", _free, _free_page, _free_classes()),
    Lens("largest_order", "largest free order", _largest_order, None, _largest_order_classes()),
    Lens("mix", "mix of mobilities", _mix, _mix_page, _mix_classes()),
    Lens("skip", "skip bits", _skip, None, _skip_classes()),
    Lens("page_kind", "page kind", _page_kind, _page_kind_page,
         tuple(one(page_kind_name(k), page_kind_name(k), int(k)) for k in PageKind)),
)
LENS_NAMES: Final = tuple(lens.name for lens in LENSES)
#: the lens id byte of the binary header
LENS_ID: Final = {name: i for i, name in enumerate(LENS_NAMES)}
LENS_BY_NAME: Final = {lens.name: lens for lens in LENSES}


def lens_named(name: str) -> Lens:
    lens = LENS_BY_NAME.get(name)
    if lens is None:
        raise ValueError(f"lens: unknown lens {name!r} (one of {', '.join(LENS_NAMES)})")
    return lens
