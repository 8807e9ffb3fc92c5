"""Input from outside gets one clear line naming the field and the limit, never a 500, a traceback
or a dropped socket (issue 19, findings 4, 5 and 6). Each test failed before its fix: deep JSON and
5,000-digit integers gave HTTP 500 and killed sockets, pressure actions without `[pressure]` raised
KeyError, a long argument or a `.toml` symlink to /dev/zero gave a traceback or hung the CLI, and a
document with thousands of bad keys gave a message of thousands of errors.
"""

from __future__ import annotations

import base64
import json
import os
import warnings
import zlib
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette asks for httpx2; the test client works the same with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from app.cli import main
from app.main import create_app
from app.presets import MAX_FILE_BYTES
from app.settings import Settings
from simcore import ScenarioError, Simulation, decode_link, parse_json, validate_scenario
from simcore.documents import MAX_DEPTH, MAX_DIGITS, MAX_DOC_CHARS, check_text, parse_toml
from simcore.pressure.spec import KillAction
from simcore.scenario import MAX_LISTED_ERRORS, apply_overrides


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def error_of(fn: object, *args: object) -> str:
    with pytest.raises(ScenarioError) as info:
        fn(*args)  # type: ignore[operator]
    return str(info.value)


# ------------------------------------------------------------ the limits
def test_nesting_is_refused_above_the_cap_and_accepted_at_it() -> None:
    assert parse_json(nested(MAX_DEPTH), "body") is not None
    msg = error_of(parse_json, nested(MAX_DEPTH + 1), "body")
    assert msg == f"body: nested too deeply (got {MAX_DEPTH + 1} levels, cap {MAX_DEPTH})"
    assert parse_toml("a = " + nested(MAX_DEPTH), "f.toml") == {"a": json.loads(nested(MAX_DEPTH))}
    msg = error_of(parse_toml, "a = " + nested(MAX_DEPTH + 1), "f.toml")
    assert msg.startswith("f.toml: nested too deeply")
    # far past the parsers' own recursion limits: still one line, no RecursionError
    assert "nested too deeply (got 100000 levels" in error_of(parse_json, nested(100_000), "body")


def test_numbers_are_refused_above_the_digit_cap_and_accepted_at_it() -> None:
    assert parse_json("[" + "9" * MAX_DIGITS + "]", "body") == [int("9" * MAX_DIGITS)]
    msg = error_of(parse_json, "[" + "9" * (MAX_DIGITS + 1) + "]", "body")
    assert msg == f"body: a number is too long (got {MAX_DIGITS + 1} digits, cap {MAX_DIGITS})"
    # TOML's underscores do not hide digits; 5,000 digits (past int()'s own limit) is one line too
    assert "too long" in error_of(parse_toml, "a = 1" + "_1" * MAX_DIGITS, "f.toml")
    assert "got 5000 digits" in error_of(parse_json, "[" + "9" * 5000 + "]", "body")


def test_strings_and_comments_do_not_count_toward_the_limits() -> None:
    deep_in_text = json.dumps({"title": nested(200), "description": "1" * 500})
    assert parse_json(deep_in_text, "body")["title"] == nested(200)
    toml = 'title = "' + "[" * 200 + '"\n# ' + "{" * 200 + "\ndescription = '''" + "9" * 500 + "'''\n"
    assert parse_toml(toml, "f.toml")["description"] == "9" * 500


def test_document_size_is_capped() -> None:
    check_text(" " * MAX_DOC_CHARS, "body")
    assert error_of(check_text, " " * (MAX_DOC_CHARS + 1), "body") == (
        f"body: document too large (got {MAX_DOC_CHARS + 1} characters, cap {MAX_DOC_CHARS})"
    )


def test_validation_lists_at_most_five_errors_then_counts_the_rest() -> None:
    five = {f"bogus{i}": 1 for i in range(MAX_LISTED_ERRORS)}
    assert "more errors" not in error_of(validate_scenario, five)
    msg = error_of(validate_scenario, {f"bogus{i}": 1 for i in range(12_000)})
    assert msg.count("unknown key") == MAX_LISTED_ERRORS
    assert msg.endswith(f"and {12_000 - MAX_LISTED_ERRORS} more errors")


def test_set_values_have_the_same_limits() -> None:
    assert "a number is too long" in error_of(apply_overrides, {}, ["seed=" + "9" * 5000])
    assert "nested too deeply" in error_of(apply_overrides, {}, ["seed=" + "[" * 2000])
    assert apply_overrides({}, ["seed=12"]) == {"seed": 12}


# --------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app(Settings()), raise_server_exceptions=False) as c:
        yield c  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (nested(1000).encode(), "body: nested too deeply"),
        (b'{"seed": ' + b"9" * 5000 + b"}", "body: a number"),
    ],
)
def test_api_link_answers_422_with_the_limit_not_500(client: TestClient, body: bytes, text: str) -> None:
    r = client.post("/api/link", content=body)
    assert r.status_code == 422 and r.json()["detail"].startswith(text)


def pack(raw: bytes) -> str:
    return "z1." + base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode()


def test_a_link_with_deep_or_huge_content_is_refused_in_words(client: TestClient) -> None:
    for raw, text in [(nested(5000).encode(), "nested too deeply"), (b"[" + b"7" * 5000 + b"]", "too long")]:
        token = pack(raw)
        assert text in error_of(decode_link, token)
        r = client.get(f"/s/{token}")
        assert r.status_code == 422 and text in r.text


def test_a_socket_message_too_deep_gets_an_error_and_the_socket_lives(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        ws.send_text(nested(5000))
        ws.send_text(json.dumps({"type": "proc", "file": "buddyinfo"}))
        seen = []
        while not any('"proc"' in t for t in seen):
            m = ws.receive()
            if m.get("text"):
                seen.append(m["text"])
        errors = [json.loads(t) for t in seen if '"error"' in t]
        assert errors and errors[0]["message"].startswith("message: nested too deeply (got 5000 levels")


# ---------------------------------------------------- subsystems and actions
def test_a_pressure_action_needs_the_pressure_subsystem() -> None:
    doc = {"timeline": [{"at": 1, "action": {"type": "kill", "comm": "app"}}]}
    msg = error_of(validate_scenario, doc)
    assert "timeline[0].action: 'kill' acts on the pressure subsystem" in msg and "[pressure]" in msg
    assert validate_scenario({**doc, "pressure": {"enabled": True}}).timeline[0].action.type == "kill"
    sim = Simulation(validate_scenario({"ticks": 5}))
    msg = error_of(sim.apply, KillAction(comm="x"))
    assert "'kill' acts on a subsystem this scenario does not install" in msg
    assert sim.recorded.timeline == []  # a refused live action is not recorded


# ------------------------------------------------------------------- the CLI
def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("zonescope: error: ") and err.count("\n") == 1
    return err


def test_cli_arguments_that_are_not_files_give_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert "not a preset" in cli_error(capsys, "run", "x" * 300, "--ticks", "1")
    zero = tmp_path / "zero.toml"
    zero.symlink_to(os.devnull if not Path("/dev/zero").exists() else "/dev/zero")
    assert "not a regular file" in cli_error(capsys, "run", str(zero), "--ticks", "1")
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    assert "not a regular file" in cli_error(capsys, "run", str(folder))
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    want = f"file too large (got {MAX_FILE_BYTES + 3} bytes, cap {MAX_FILE_BYTES})"
    assert want in cli_error(capsys, "run", str(big))
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + nested(2000) + "\n")
    assert "nested too deeply" in cli_error(capsys, "run", str(deep))
