"""The `zonescope` command line: run --json, proc, link, presets, --set, --help, and clean errors."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_determinism import ROOT, zonescope_cmd

from app.cli import build_parser, main
from app.presets import load_scenario
from simcore.constants import MIGRATETYPE_NAMES
from simcore.link import decode_link
from simcore.procfs import PROC_FILES, render
from simcore.simulation import Simulation

SMALL = ["--set", "node.zones.0.pages=16384", "--set", "workload.events_per_tick=300"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "run", *argv, "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_run_json_keys_and_consistency(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_json(capsys, "default", "--ticks", "15", *SMALL)
    keys = ["scenario", "seed", "ticks", "vmstat", "buddyinfo", "pageblocks", "events", "frame_hash"]
    assert list(r) == keys
    assert r["seed"] == 1 and r["ticks"] == 15
    assert r["scenario"]["name"] == "default" and r["scenario"]["node"]["zones"] == [{"name": "Normal",
                                                                                      "pages": 16384}]
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in r["vmstat"].items())
    (zone,) = r["buddyinfo"]
    assert zone["zone"] == "Normal" and len(zone["free"]) == 11
    assert sum(n << o for o, n in enumerate(zone["free"])) == r["vmstat"]["nr_free_pages"]
    (blocks,) = r["pageblocks"]
    assert blocks["zone"] == "Normal"
    assert sum(blocks[t] for t in MIGRATETYPE_NAMES) == 16384 // 512
    assert all(isinstance(v, int) and v > 0 for v in r["events"].values())
    assert len(r["frame_hash"]) == 32


def test_run_json_matches_an_in_process_run(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_json(capsys, "default", "--ticks", "10", *SMALL)
    sim = Simulation(load_scenario("default", SMALL[1::2]))
    sim.run_until(10)
    assert r["vmstat"] == sim.vmstat()
    assert r["buddyinfo"] == [{"zone": z.name, "free": z.nr_free_per_order()} for z in sim.node.zones]


def test_set_and_seed_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_json(capsys, "default", "--ticks", "2", *SMALL, "--set", "seed=9",
                 "--set", "vm.watermark_scale_factor=50")
    assert r["seed"] == 9 and r["scenario"]["vm"]["watermark_scale_factor"] == 50
    r = run_json(capsys, "default", "--ticks", "2", *SMALL, "--seed", "4")
    assert r["seed"] == 4 and r["scenario"]["seed"] == 4


def test_run_summary_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "default", "--ticks", "5", *SMALL)
    assert code == 0
    assert out.startswith("default: ")
    assert "/proc/buddyinfo:" in out and "Node 0, zone   Normal" in out and "frame_hash" in out


def test_run_check_runs_the_invariant_checker(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "run", "default", "--ticks", "3", *SMALL, "--check")
    assert code == 0, err


@pytest.mark.parametrize("name", PROC_FILES)
def test_proc_prints_each_file(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run_cli(capsys, "proc", "default", "--ticks", "6", *SMALL, name)
    assert code == 0, err
    sim = Simulation(load_scenario("default", SMALL[1::2]))
    sim.run_until(6)
    assert out == render(sim.node, name)


def test_proc_refuses_unknown_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["proc", "default", "slabinfo"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["meminfo", "pressure/memory"])
def test_proc_subsystem_file_needs_its_subsystem(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run_cli(capsys, "proc", "default", "--ticks", "2", *SMALL, name)
    assert code == 2 and out == ""
    assert err == f"zonescope: error: proc: {name} needs pressure.enabled = true in the scenario\n"


def test_link_prints_token_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "link", "default", "--ticks", "40", "--set", "seed=3")
    assert code == 0
    token, path = out.split()
    assert path == f"/s/{token}"
    scenario, at = decode_link(token)
    assert (scenario.seed, at) == (3, 40)
    assert scenario == load_scenario("default", ["seed=3"])


def test_a_link_keeps_its_tick_under_seed_and_set(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "link", "default", "--ticks", "4")
    token = out.split()[0]
    assert run_json(capsys, token, "--seed", "9")["ticks"] == 4
    _, out, _ = run_cli(capsys, "link", token, "--set", "seed=2")
    scenario, at = decode_link(out.split()[0])
    assert (scenario.seed, at) == (2, 4)


def test_presets_lists_default_with_its_title(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.split()[0] == "default")
    assert "1 GiB zone" in line


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return list(action.choices)  # type: ignore[arg-type]


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "proc", "link", "presets"):
        assert name in subcommands()
        assert f"    {name} " in out


@pytest.mark.parametrize("name", subcommands())
def test_each_subcommand_help_explains_every_option(capsys: pytest.CaptureFixture[str], name: str) -> None:
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: zonescope {name}")
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[name]  # type: ignore[index]
    for opt in sub._actions:
        assert opt.help, f"{name}: option {opt.option_strings or opt.dest} has no help"
        for flag in opt.option_strings:
            assert flag in out


# --------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["run", "no-such-preset"], "not a preset"),
        (["run", "default", "--set", "bogus=1"], "bogus: unknown key"),
        (["run", "default", "--set", "node.zones.0.pages=268435968"], "1 TiB"),
        (["run", "default", "--ticks", "-1"], "--ticks must be an integer in 0..1000000 (got -1)"),
        (["run", "default", "--ticks", "200000"], "exceeds the work cap (got 200000 x 2000"),
        (["run", "default", "--set", "workload.target_occupancy=2"], "workload.target_occupancy"),
        (["run", "z1.eJzLSM3JyQcABiwCFQ"], "link: "),
        (["run", "z1.AAAA"], "link: "),
        (["proc", "default", "--set", "seed=-1", "buddyinfo"], "seed: "),
        (["link", "default", "--set", "vm.watermark_scale_factor=0"], "vm.watermark_scale_factor"),
    ],
)
def test_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], text: str) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("zonescope: error: ") and text in err
    assert err.count("\n") == 1


def test_bad_scenario_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[node]\nzones = [{ name = 'Normal', pages = 100 }]\n")
    code, _, err = run_cli(capsys, "run", str(f))
    assert code == 2 and err.startswith("zonescope: error: node.zones.0.pages: ")


def test_no_traceback_from_the_installed_command() -> None:
    p = subprocess.run([*zonescope_cmd(), "run", "default", "--set", "node.zones.0.pages=99999999"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.startswith("zonescope: error: node.zones.0.pages: ")
    assert "Traceback" not in p.stderr


def test_serve_on_a_busy_port_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "serve", "--host", "127.0.0.1", "--port", str(port))
    assert code == 2
    expected = f"zonescope: error: --port {port}: cannot listen on 127.0.0.1: Address already in use"
    assert err.strip() == expected
    assert "Traceback" not in out + err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import common

    small = ["node.zones.0.pages=8192", "workload.events_per_tick=50"]
    monkeypatch.setattr(common.Progress, "PROGRESS_S", 0.0)
    term = _Terminal()
    monkeypatch.setattr(common.sys, "stderr", term)
    common.run_to(Simulation(load_scenario("default", small)), 5)
    out = term.getvalue()
    assert "\rtick 1 / 5 (20 %)" in out and "\rtick 5 / 5 (100 %)" in out and out.endswith("\r\033[K")
    pipe = io.StringIO()  # not a terminal: nothing written
    monkeypatch.setattr(common.sys, "stderr", pipe)
    common.run_to(Simulation(load_scenario("default", small)), 5)
    assert pipe.getvalue() == ""


@pytest.mark.parametrize(("arg", "got"), [("compaction,bogus", "bogus"), (",", "nothing")])
def test_compare_names_the_unknown_policy_and_the_choices(
    capsys: pytest.CaptureFixture[str], arg: str, got: str
) -> None:
    code, out, err = run_cli(capsys, "compare", "default", "--ticks", "1", *SMALL, "--policies", arg)
    assert code == 2 and out == ""
    assert err == (f"zonescope: error: --policies: unknown defrag policy (got {got}; "
                   "one of compaction, lumpy, none)\n")
