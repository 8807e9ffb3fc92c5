"""Scenario validation: every bad input is a ScenarioError naming the field and the bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.presets import load_scenario, preset_names
from simcore.scenario import (
    MAX_NODE_PAGES,
    MAX_TICKS,
    MAX_WORK,
    Scenario,
    ScenarioError,
    apply_overrides,
    check_node_pages,
    gib,
    validate_scenario,
)


def error_of(doc: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        validate_scenario(doc)
    return str(info.value)


def test_defaults_validate() -> None:
    s = validate_scenario({})
    assert s.seed == 1 and s.node.total_pages == 262144 and s.mode == "modern"
    assert s.workload.streams and s.timeline == []


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_validates(name: str) -> None:
    s = load_scenario(name)
    assert s.name == name
    # the preset is a normalised document: validating its dump gives the same scenario
    assert validate_scenario(s.to_dict()) == s


def test_default_preset_exists() -> None:
    assert "default" in preset_names()


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"bogus": 1}, "bogus: unknown key"),
        ({"node": {"zones": [{"name": "Normal", "pages": 4096, "colour": "red"}]}},
         "node.zones.0.colour: unknown key"),
        ({"workload": {"streams": [{"name": "a", "lifetme": 5}]}}, "workload.streams.0.lifetme: unknown key"),
        ({"vm": {"swappiness": 60}}, "vm.swappiness: unknown key"),
        ({"timeline": [{"at": 1, "action": {"type": "alloc", "orders": 3}}]},
         "timeline.0.action.alloc.orders"),
    ],
)
def test_unknown_keys_are_refused_by_name(doc: dict[str, Any], field: str) -> None:
    assert field in error_of(doc)


@pytest.mark.parametrize(
    ("doc", "field", "bound"),
    [
        ({"ticks": -1}, "ticks", "greater than or equal to 0"),
        ({"ticks": MAX_TICKS + 1}, "ticks", f"less than or equal to {MAX_TICKS}"),
        ({"seed": -3}, "seed", "greater than or equal to 0"),
        ({"vm": {"watermark_scale_factor": 0}}, "vm.watermark_scale_factor", "greater than or equal to 1"),
        ({"vm": {"watermark_scale_factor": 3001}}, "vm.watermark_scale_factor", "less than or equal to 3000"),
        ({"vm": {"min_free_kbytes": 64}}, "vm.min_free_kbytes", "greater than or equal to 128"),
        ({"vm": {"extfrag_threshold": 1001}}, "vm.extfrag_threshold", "less than or equal to 1000"),
        ({"workload": {"target_occupancy": 1.5}}, "workload.target_occupancy", "less than or equal to 0.99"),
        ({"workload": {"events_per_tick": 10**7}}, "workload.events_per_tick",
         "less than or equal to 200000"),
        ({"workload": {"streams": [{"name": "a", "orders": {"11": 1}}]}}, "workload.streams.0.orders.11",
         "less than or equal to 10"),
        ({"workload": {"streams": [{"name": "a", "weight": 0}]}}, "workload.streams.0.weight",
         "greater than 0"),
        ({"node": {"zones": [{"name": "Normal", "pages": 512}]}}, "node.zones.0.pages",
         "greater than or equal to 1024"),
        ({"timeline": [{"at": 1, "action": {"type": "alloc", "count": 0}}]}, "timeline.0.action.alloc.count",
         "greater than or equal to 1"),
    ],
)
def test_out_of_range_numbers_name_field_bound_and_value(doc: dict[str, Any], field: str, bound: str) -> None:
    msg = error_of(doc)
    assert msg.startswith(f"{field}: ")
    assert bound in msg
    assert "got " in msg


def test_zone_over_the_cap() -> None:
    msg = error_of({"node": {"zones": [{"name": "Normal", "pages": MAX_NODE_PAGES + 512}]}})
    assert msg.startswith("node.zones.0.pages: ")
    assert str(MAX_NODE_PAGES) in msg and "1 TiB" in msg
    # exactly the cap is allowed
    assert validate_scenario({"node": {"zones": [{"name": "Normal", "pages": MAX_NODE_PAGES}]},
                              "ticks": 1}).node.total_pages == MAX_NODE_PAGES


def test_zone_under_the_minimum_does_not_mention_the_cap() -> None:
    msg = error_of({"node": {"zones": [{"name": "Normal", "pages": 512}]}})
    assert "greater than or equal to 1024" in msg
    assert "1 TiB" not in msg


def test_node_total_over_the_cap() -> None:
    msg = error_of({"node": {"zones": [{"name": "DMA32", "pages": 1 << 27},
                                       {"name": "Normal", "pages": (1 << 27) + 512}]}})
    assert msg.startswith("node: ")
    assert f"total pages exceed the cap (got {MAX_NODE_PAGES + 512}, cap {MAX_NODE_PAGES} = 1 TiB)" in msg
    # exactly the cap is allowed
    doc = {"node": {"zones": [{"name": "DMA32", "pages": 1 << 27}, {"name": "Normal", "pages": 1 << 27}]}}
    assert validate_scenario({**doc, "ticks": 1}).node.total_pages == MAX_NODE_PAGES


@pytest.mark.parametrize(("pages", "text"), [(512, "2 MiB"), (1 << 18, "1 GiB"), (1 << 22, "16 GiB"),
                                             (1 << 28, "1 TiB"), (3 << 18, "3 GiB")])
def test_sizes_print_in_the_largest_whole_unit(pages: int, text: str) -> None:
    assert gib(pages) == text


def test_a_server_cap_names_the_node_size_and_the_cap() -> None:
    sc = validate_scenario({"node": {"zones": [{"name": "Normal", "pages": (1 << 24) + 512}]}, "ticks": 1})
    with pytest.raises(ScenarioError) as err:
        check_node_pages(sc, 1 << 24, "link: node")
    msg = str(err.value)
    assert msg.startswith("link: node: the node is larger than this server runs (got 16777728 pages")
    assert "cap 16777216 = 64 GiB" in msg
    at_cap = validate_scenario({"node": {"zones": [{"name": "Normal", "pages": 1 << 24}]}, "ticks": 1})
    check_node_pages(at_cap, 1 << 24)  # exactly the cap is allowed


def test_zone_size_must_be_whole_pageblocks() -> None:
    msg = error_of({"node": {"zones": [{"name": "Normal", "pages": 4097}]}})
    assert msg.startswith("node.zones.0.pages: ") and "multiple of 512" in msg


@pytest.mark.parametrize(
    ("zones", "text"),
    [
        ([{"name": "Normal", "pages": 4096}, {"name": "DMA", "pages": 4096}], "kernel order"),
        ([{"name": "Normal", "pages": 4096}, {"name": "Normal", "pages": 4096}], "distinct"),
        ([{"name": "HighMem", "pages": 4096}], "x86_64 has no HighMem"),
        ([{"name": "Sideways", "pages": 4096}], "node.zones.0.name"),
    ],
)
def test_zone_layout_errors(zones: list[dict[str, Any]], text: str) -> None:
    assert text in error_of({"node": {"zones": zones}})


def test_ticks_times_events_cap() -> None:
    msg = error_of({"ticks": 100_001, "workload": {"events_per_tick": 2000}})
    assert "ticks x workload.events_per_tick" in msg and str(MAX_WORK) in msg
    # right at the cap is fine
    assert validate_scenario({"ticks": 100_000, "workload": {"events_per_tick": 2000}}).ticks == 100_000


def test_unknown_allocation_class_lists_the_classes() -> None:
    msg = error_of({"workload": {"streams": [{"name": "a", "class": "gpu"}]}})
    assert msg.startswith("workload.streams.0.class: ") and "anon" in msg and "slab_unmovable" in msg


def test_duplicate_stream_names() -> None:
    assert "unique" in error_of({"workload": {"streams": [{"name": "a"}, {"name": "a"}]}})


def test_not_a_document() -> None:
    assert error_of([1, 2]).startswith("scenario: ")


def test_scenario_is_frozen() -> None:
    s = validate_scenario({})
    with pytest.raises(ValueError, match="frozen"):
        s.seed = 5  # type: ignore[misc]


# ---------------------------------------------------------------------- files and overrides
def test_toml_file_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "mine.toml"
    good.write_text('name = "mine"\nseed = 9\n[node]\nzones = [{ name = "Normal", pages = 8192 }]\n')
    s = load_scenario(str(good))
    assert (s.name, s.seed, s.node.total_pages) == ("mine", 9, 8192)
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 3\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(str(bad))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(str(tmp_path / "missing.toml"))
    with pytest.raises(ScenarioError, match="not a preset"):
        load_scenario("no-such-preset")


def test_overrides() -> None:
    overrides = ["seed=42", "workload.target_occupancy=0.5", "vm.watermark_scale_factor=100"]
    s = load_scenario("default", overrides)
    assert (s.seed, s.workload.target_occupancy, s.vm.watermark_scale_factor) == (42, 0.5, 100)
    s = load_scenario("default", ["workload.streams.0.weight=2.5"])
    assert s.workload.streams[0].weight == 2.5
    s = load_scenario("default", seed=7)
    assert s.seed == 7


@pytest.mark.parametrize(
    ("override", "text"),
    [
        ("seed", "expected key=value"),
        ("=3", "empty key"),
        ("workload.streams.99.weight=1", "no element 99"),
        ("seed.x=1", "is not a table"),
    ],
)
def test_bad_overrides(override: str, text: str) -> None:
    with pytest.raises(ScenarioError, match=text):
        apply_overrides(load_scenario("default").to_dict(), [override])


def test_override_into_a_missing_list_names_the_index() -> None:
    with pytest.raises(ScenarioError, match="no element 0 in timeline"):
        apply_overrides({"name": "x"}, ["timeline.0.at=5"])
    # a missing table still comes into being, digit keys included (orders are keyed by order)
    doc = apply_overrides({"workload": {"streams": [{"name": "a"}]}}, ["workload.streams.0.orders.9=1"])
    assert doc["workload"]["streams"][0]["orders"] == {"9": 1}


def test_override_out_of_range_is_a_validation_error() -> None:
    with pytest.raises(ScenarioError, match=r"^workload\.target_occupancy: .*0\.99"):
        load_scenario("default", ["workload.target_occupancy=2"])


def test_with_action_records_a_timeline_entry() -> None:
    from simcore.actions import AllocAction

    s = validate_scenario({})
    t = s.with_action(7, AllocAction(order=9, count=3))
    assert s.timeline == [] and len(t.timeline) == 1 and t.timeline[0].at == 7
    assert isinstance(t, Scenario)


# ------------------------------------------------------------------------------- the docs
def schema_paths(model: type[Any], prefix: str = "") -> list[str]:
    """Dotted paths of every field of a model, nested tables and list items included."""
    import types
    import typing

    from pydantic import BaseModel

    out = []
    for name, f in model.model_fields.items():
        path = prefix + (f.alias or name)
        out.append(path)
        ann = f.annotation
        candidates = [ann, *typing.get_args(ann)]
        for c in candidates:
            if typing.get_origin(c) is list:
                c = typing.get_args(c)[0]
            if typing.get_origin(c) in (typing.Union, types.UnionType):
                continue
            if isinstance(c, type) and issubclass(c, BaseModel) and name != "timeline":
                out += schema_paths(c, path + ("[]." if typing.get_origin(ann) is list else "."))
    return out


def test_docs_scenarios_md_documents_every_field() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "scenarios.md").read_text()
    # a section is documented under its heading `[name]`, a field by its dotted path
    missing = [p for p in schema_paths(Scenario) if f"`{p}`" not in doc and f"`[{p}]`" not in doc
               and f"`[[{p}]]`" not in doc]
    assert missing == []
