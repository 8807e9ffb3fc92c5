"""Every vocabulary the page shows, from the one place each is defined, for `hello` (docs/protocol.md).

The page builds its lens, /proc and policy selects, its lens keys, its legends and its compaction chart's
counters from this; it keeps no list of its own, only colours keyed by name (static/js/palette.js).
"""

from __future__ import annotations

import functools
import typing

from app.chart_history import COUNTERS
from app.lenses import LENSES, LensClass, page_kind_name
from app.wire_types import LensClassInfo, LensInfo, Vocab
from simcore import (
    DEFRAG_POLICIES,
    KNOWN_PROC_FILES,
    MIGRATETYPE_NAMES,
    ZONE_NAMES,
    AllocAction,
    ClassName,
    PageKind,
    SkipReason,
)

ALLOC_CLASSES: tuple[str, ...] = typing.get_args(ClassName)
ALLOC_LABELS = {"huge": "huge (THP)"}
#: /proc files whose kernel home is debugfs (/sys/kernel/debug/extfrag/): shown by their name alone
DEBUGFS_SUFFIX = "_index"


def proc_label(name: str) -> str:
    return name if name.endswith(DEBUGFS_SUFFIX) else f"/proc/{name}"


def _class_info(c: LensClass) -> LensClassInfo:
    return {"key": c.key, "label": c.label, "lo": c.lo, "hi": c.hi}


def lens_infos() -> list[LensInfo]:
    """The lenses in id order; `key` is the keyboard key that selects one (1..9, then none)."""
    return [{"name": lens.name, "label": lens.label, "key": str(i + 1) if i < 9 else "",
             "classes": [_class_info(c) for c in lens.classes]}
            for i, lens in enumerate(LENSES)]


@functools.cache
def vocabularies() -> Vocab:
    return {
        "lenses": lens_infos(),
        "skip_reasons": [{"code": int(r), "name": r.name, "label": r.label} for r in SkipReason],
        "migratetypes": list(MIGRATETYPE_NAMES),
        "page_kinds": [page_kind_name(k) for k in PageKind],
        "proc_files": [{"name": f, "label": proc_label(f)} for f in KNOWN_PROC_FILES],
        "defrag_policies": [{"name": p.name, "label": p.label} for p in DEFRAG_POLICIES.values()],
        "alloc_classes": [{"name": c, "label": ALLOC_LABELS.get(c, c)} for c in ALLOC_CLASSES],
        "alloc_class_default": AllocAction.model_fields["alloc_class"].default,
        "zones": list(ZONE_NAMES.values()),
        "chart_counters": list(COUNTERS),
    }

