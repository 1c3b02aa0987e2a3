"""Presets compose: a user's file overrides its base preset key by key."""

import pytest

from pipelines.presets import compose, load_preset, with_table


def test_compose_merges_mappings_and_replaces_everything_else():
    base = {"ops": {"a": {"config": {"x": 1, "y": [1, 2], "inner": {"p": 1, "q": 2}}}}}
    over = {"ops": {"a": {"config": {"y": [3], "inner": {"q": 5}}}, "b": {"config": {}}}}
    assert compose(base, over) == {
        "ops": {
            "a": {"config": {"x": 1, "y": [3], "inner": {"p": 1, "q": 5}}},
            "b": {"config": {}},
        }
    }
    assert base["ops"]["a"]["config"]["inner"] == {"p": 1, "q": 2}  # the base is untouched


def test_a_user_preset_overrides_the_default_preset_key_by_key(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("ops:\n  data_som:\n    config:\n      som: {rows: 7}\n")
    default, mine = load_preset("default"), load_preset(str(path))
    assert mine["ops"]["data_som"]["config"]["som"]["rows"] == 7
    assert (
        mine["ops"]["data_som"]["config"]["som"]["cols"]
        == (default["ops"]["data_som"]["config"]["som"]["cols"])
    )
    assert {k: v for k, v in mine["ops"].items() if k != "data_som"} == {
        k: v for k, v in default["ops"].items() if k != "data_som"
    }


def test_a_user_preset_may_name_its_base(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: tiny\nops:\n  gan_model:\n    config: {grid_samples: 3}\n")
    tiny, mine = load_preset("tiny"), load_preset(str(path))
    assert "base" not in mine and mine["ops"]["gan_model"]["config"]["grid_samples"] == 3
    assert (
        mine["ops"]["gan_model"]["config"]["trainer"]
        == tiny["ops"]["gan_model"]["config"]["trainer"]
    )
    path.write_text("base: huge\n")
    with pytest.raises(ValueError, match=r"base 'huge' is not one of"):
        load_preset(str(path))


def test_bad_preset_files_are_errors_naming_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("ops: [unclosed\n")
    with pytest.raises(ValueError, match=r"broken.yaml' is not valid YAML"):
        load_preset(str(path))
    with pytest.raises(ValueError, match=r"preset 'nope' not found"):
        load_preset("nope")


def test_a_table_needs_no_yaml():
    config = with_table(load_preset("tiny"), "/data/votes.csv", "party")
    source = config["ops"]["raw_dataset"]["config"]
    assert source["source"] == "file" and source["path"] == "/data/votes.csv"
    assert source["label_column"] == "party" and source["missing"] == "impute"
    assert config["ops"]["data_som"] == load_preset("tiny")["ops"]["data_som"]
