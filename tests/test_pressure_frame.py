"""The pressure frame (simcore/pressure/frame.py, summary.py): outside the digest, kept by the hub,
one process table for the panel and the report, and no import circle in simcore/pressure."""

from __future__ import annotations

import ast
import dataclasses
import pathlib

import pytest

from app.presets import load_scenario
from app.pressure_view import pressure_part
from simcore.pressure.frame import PressureFrame
from simcore.pressure.report import pressure_report
from simcore.simulation import Simulation
from tests.pressure_helpers import hub_of

ROOT = pathlib.Path(__file__).resolve().parent.parent
PRESSURE_PRESETS = ("desktop-about-to-swap", "embedded-about-to-oom", "embedded-options", "oom-score-adj")


def test_pressure_frame_is_outside_the_digest() -> None:
    sim = Simulation(load_scenario("oom-score-adj"))
    sim.run_until(250)
    frame = sim.frame()
    assert isinstance(frame.pressure, PressureFrame)
    other = dataclasses.replace(frame.pressure, oom_pick=-1, kills=frame.pressure.kills + 1)
    assert dataclasses.replace(frame, pressure=None).digest() == frame.digest()
    assert dataclasses.replace(frame, pressure=other).digest() == frame.digest()


def test_frame_has_no_extra_field() -> None:
    from simcore.frame import Frame

    assert "extra" not in {f.name for f in dataclasses.fields(Frame)}


def test_levels_are_kept_when_emitted_not_when_a_frame_is_taken() -> None:
    """The newest vmpressure window is the hub's state as soon as it is emitted."""
    sim = Simulation(load_scenario("embedded-options", ["pressure.notify.vmpressure.enabled=true"]))
    sim.run_until(5)
    hub = hub_of(sim)
    assert hub.vmpressure is not None and hub.latest.vmpressure is None
    hub.vmpressure.account(512, 0)
    assert hub.latest.vmpressure is not None and hub.latest.vmpressure.level == "critical"


EVENT_LEVELS = ["pressure.notify.vmpressure.enabled=true", "pressure.notify.mem_notify.enabled=true"]


@pytest.mark.parametrize("preset,tick,overrides", [
    ("oom-score-adj", 300, EVENT_LEVELS), ("embedded-about-to-oom", 400, [])])
def test_restored_keyframe_shows_same_pressure_levels_as_replay(
        preset: str, tick: int, overrides: list[str]) -> None:
    """A simulation restored from a keyframe shows the levels, marks and notifications a replay to
    that tick shows, then and after more ticks."""
    run = Simulation(load_scenario(preset, overrides))
    run.run_until(tick)
    kf = run.snapshot()
    replay = Simulation(load_scenario(preset, overrides))
    replay.run_until(tick)
    expected = replay.frame().pressure
    assert expected is not None  # and something remembered to lose:
    if overrides:
        vp, mn = expected.levels.vmpressure, expected.levels.mem_notify
        assert vp is not None and vp.event is not None and mn is not None and mn.event is not None
    else:
        assert expected.marks and any(r.last_notified for r in expected.processes)
    restored = kf.restore(run.recorded)
    assert restored.frame().pressure == expected
    assert pressure_part(restored.frame().pressure) == pressure_part(expected)
    for sim in (restored, replay):
        sim.run_until(tick + 60)
    assert restored.frame().pressure == replay.frame().pressure


@pytest.mark.parametrize("preset", PRESSURE_PRESETS)
def test_report_and_panel_share_the_process_table(preset: str) -> None:
    """Every row the panel shows is the report's row of that pid, column for column, and both show
    the same overcommit refusals and wasted pages."""
    sim = Simulation(load_scenario(preset))
    for tick in (50, 150, 300, sim.scenario.ticks):
        sim.run_until(tick)
        frame = sim.frame().pressure
        report = pressure_report(sim)
        assert frame is not None and report is not None
        by_pid = {r["pid"]: r for r in report["processes"]}
        for row in frame.processes:
            rep = by_pid[row.pid]
            cols = ("comm", "state", "generation", "oom_score_adj", "swap", "badness")
            assert tuple(getattr(row, c) for c in cols) == tuple(rep[c] for c in cols)
            assert row.rss == rep["anon_rss"] + rep["file"]
        shown = pressure_part(frame)["pressure"]
        points = [by_pid[r.pid]["badness"] for r in frame.processes]
        assert [p["points"] for p in shown["processes"]] == points
        oc = report["overcommit"]
        assert (shown["overcommit"]["refused"], shown["overcommit"]["wasted_pages"]) == (
            oc["refused"], oc["wasted_pages"])


def _imports(path: pathlib.Path) -> set[str]:
    """The simcore.pressure modules a file imports, TYPE_CHECKING and function-local ones too."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("simcore.pressure"):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("simcore.pressure"))
    return out


def test_pressure_package_has_no_import_circle() -> None:
    pkg = ROOT / "simcore" / "pressure"
    graph = {}
    for f in pkg.rglob("*.py"):
        parts = f.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = _imports(f) - {name}
    done: set[str] = set()

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, " -> ".join((*path, m))
        if m in done:
            return
        for n in graph.get(m, ()):
            visit(n, (*path, m))
        done.add(m)

    for m in graph:
        visit(m, ())
    assert all("simcore.pressure.install" not in graph[m] for m in graph if ".notify." in m)


def test_pressure_view_reads_no_pressure_internals() -> None:
    """app/pressure_view.py formats the frame: of simcore.pressure it imports the package's names only."""
    assert _imports(ROOT / "app" / "pressure_view.py") <= {"simcore.pressure"}
