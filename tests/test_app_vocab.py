"""One source per vocabulary: the lens registry (app/lenses.py), `hello.vocab` (app/vocab.py), and no copy
of either in the page (static/, templates/)."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import numpy as np
import pytest

from app.chart_history import COUNTERS
from app.encoder import View, lens_cells
from app.lenses import LENS_NAMES, LENSES, skip_value
from app.live_session import LiveSession
from app.messages import MessageError, parse_message
from app.settings import Settings
from app.simrun import SimRun
from app.vocab import vocabularies
from simcore import KNOWN_PROC_FILES, PROC_FILES, ScenarioError
from simcore.constants import MIGRATETYPE_NAMES, PageKind
from simcore.frame import SKIP_REASONS, Frame, SkipReason
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

ROOT = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "seed": 2, "node": {"zones": [{"name": "Normal", "pages": 4096}]}}


@pytest.fixture(scope="module")
def frame() -> Frame:
    sim = Simulation(validate_scenario(TINY))
    sim.run_until(3)
    return sim.frame()


def test_lens_classes_are_disjoint_and_cover_every_value_the_encoder_writes(frame: Frame) -> None:
    n = frame.pb_skip_reason.size
    codes = np.resize(np.array([int(r) for r in SkipReason], dtype=np.uint8), n)
    skip = np.zeros_like(frame.pb_skip)
    skip[::3] = 1
    every_reason = dataclasses.replace(frame, pb_skip_reason=codes.astype(frame.pb_skip_reason.dtype),
                                       pb_skip=skip)
    for lens in LENSES:
        values = [v for c in lens.classes for v in range(c.lo, c.hi + 1)]
        assert len(values) == len(set(values)), lens.name
        assert len({c.key for c in lens.classes}) == len(lens.classes), lens.name
        for f in (frame, every_reason):
            for view in (View.whole(f.nr_pages), View(0, 1024)):
                cells = set(lens_cells(f, lens.name, view, 1024).data) - {255}
                assert cells <= set(values), (lens.name, sorted(cells - set(values)))


def test_the_skip_lens_has_a_class_per_skip_reason() -> None:
    skip = next(lens for lens in LENSES if lens.name == "skip")
    by_key = {c.key: c for c in skip.classes}
    for reason in SkipReason:
        if reason != SkipReason.NONE:
            assert by_key[reason.name].label == reason.label
            assert by_key[reason.name].lo == skip_value(reason)


def test_vocabularies_come_from_their_sources() -> None:
    v = vocabularies()
    assert [lens["name"] for lens in v["lenses"]] == list(LENS_NAMES)
    assert [lens["key"] for lens in v["lenses"]] == [str(i + 1) for i in range(len(LENS_NAMES))]
    assert [(r["code"], r["label"]) for r in v["skip_reasons"]] == list(enumerate(SKIP_REASONS))
    assert v["migratetypes"] == list(MIGRATETYPE_NAMES)
    assert v["page_kinds"] == [k.name.lower() for k in PageKind]
    assert [f["name"] for f in v["proc_files"]] == list(KNOWN_PROC_FILES)
    assert set(PROC_FILES) < set(KNOWN_PROC_FILES)  # the node's files, then the subsystems' (meminfo...)
    assert {p["name"] for p in v["defrag_policies"]} == {"compaction", "lumpy", "none"}
    assert v["alloc_class_default"] in {c["name"] for c in v["alloc_classes"]}
    assert v["chart_counters"] == list(COUNTERS)


def test_messages_accept_exactly_the_registered_lenses_and_proc_files() -> None:
    for name in LENS_NAMES:
        assert parse_message({"type": "lens", "lens": name})
    for file in KNOWN_PROC_FILES:
        assert parse_message({"type": "proc", "file": file})
    for bad, needle in (({"type": "lens", "lens": "colour"}, "lens.lens: unknown lens (got 'colour'"),
                        ({"type": "proc", "file": "meminfo2"}, "proc.file: unknown file (got 'meminfo2'")):
        with pytest.raises(MessageError, match=re.escape(needle)):
            parse_message(bad)


def test_hello_carries_the_vocabularies_and_the_presets_it_is_given() -> None:
    from app.viewer import Viewer

    session = LiveSession("s1", SimRun(validate_scenario(TINY), 10**9), 0, None, Settings(), lambda s: None)
    presets: list[typing.Any] = [{"name": "default", "title": "Default"}]
    hello = session.hello(Viewer(typing.cast(typing.Any, None), session, "presenter", 2), presets)
    assert hello["presets"] == presets and hello["vocab"] == vocabularies()
    assert hello["lenses"] == list(LENS_NAMES) and hello["skip_reasons"] == list(SKIP_REASONS)


def test_the_page_keeps_no_copy_of_the_vocabularies() -> None:
    page = (ROOT / "templates" / "index.html").read_text()
    for select in ("lens-select", "proc-select", "policy-select", "alloc-class"):
        m = re.search(rf'<select id="{select}"[^>]*>(.*?)</select>', page, re.S)
        assert m is not None and m.group(1).strip() == "", select  # filled from hello.vocab
    js = {p.name: p.read_text() for p in (ROOT / "static" / "js").glob("*.js")}
    for name, text in js.items():
        # a list of lens, /proc file, policy or skip-reason names is a copy; palette.js keys colours
        # by name (`name: colour`), which is not a list
        for word in ("largest_order", "extfrag_index", "lumpy", "skip bit set", "no movable pages",
                     "compact_stall"):
            quoted = re.findall(rf'["\']{re.escape(word)}["\']', text)
            assert not quoted, (name, word)
        assert not re.search(r"\[1-\d\]", text), name  # lens keys from hello, not a fixed range


def test_proc_of_a_subsystem_file_without_the_subsystem_is_one_clear_error() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    assert "meminfo" not in run.sim.proc_names()
    with pytest.raises(ScenarioError, match=re.escape("proc: meminfo needs pressure.enabled = true")):
        run.proc("meminfo")
