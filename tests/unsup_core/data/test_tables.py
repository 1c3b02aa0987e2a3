"""Loading user tables: encoding, missing-value policies, and one test per kind of bad input."""

import numpy as np
import pandas as pd
import pytest

from unsup_core.data import Dataset, PrepareConfig, SourceConfig, load_dataset, load_table, prepare


def write_csv(tmp_path, text: str, name: str = "data.csv"):
    """Write ``text`` to ``tmp_path / name`` and return the path."""
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def table(path, **options) -> Dataset:
    """The dataset of the file at ``path``, read with the given source ``options``."""
    return load_table(SourceConfig(source="file", path=path, **options))


VOTES = """party,crime,budget,immigration
democrat,n,y,?
republican,y,n,y
democrat,n,y,n
republican,y,?,y
"""


def test_voting_record_is_one_hot_encoded_with_party_labels(tmp_path):
    data = table(write_csv(tmp_path, VOTES), label_column="party")
    assert data.class_names == ("democrat", "republican")
    np.testing.assert_array_equal(data.y, [0, 1, 0, 1])
    # crime has two levels: one 0/1 column; immigration has three (?, n, y): one each
    assert data.feature_names[0] == "crime=y" and "crime=n" not in data.feature_names
    assert "immigration=?" in data.feature_names and "immigration=n" in data.feature_names
    row0 = dict(zip(data.feature_names, data.X[0]))
    assert row0["crime=y"] == 0 and row0["immigration=?"] == 1
    np.testing.assert_array_equal(data.X[:, 0], [0, 1, 0, 1])
    assert data.X.dtype == np.float32


def test_a_yes_no_column_with_missing_answers_is_one_column(tmp_path):
    path = write_csv(tmp_path, VOTES)
    imputed = table(path, label_column="party", na_values=("?",), missing="impute")
    assert imputed.feature_names == ("crime=y", "budget=y", "immigration=y")
    assert np.isnan(imputed.X[0, 2]) and np.isnan(imputed.X[3, 1])  # imputed in prepare
    with pytest.raises(ValueError, match=r"column 'immigration', row 0 \(line 2\).*missing"):
        table(path, label_column="party", na_values=("?",))
    own = table(path, label_column="party", na_values=("?",), binary_missing="own_level")
    assert own.feature_names == imputed.feature_names  # and missing='error' does not object
    np.testing.assert_array_equal(own.X[:, 2], [0.5, 1, 0, 1])
    np.testing.assert_array_equal(own.X[:, 1], [1, 0, 1, 0.5])


def test_duplicated_header_names_are_an_error_naming_them(tmp_path):
    path = write_csv(tmp_path, "f0,f1,f0,label\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(ValueError, match=r"data.csv'.*duplicated column names \['f0'\]"):
        table(path, label_column="label")


def test_ordinal_encoding_gives_one_column_per_text_column(tmp_path):
    data = table(write_csv(tmp_path, VOTES), label_column="party", categorical="ordinal")
    assert data.feature_names == ("crime", "budget", "immigration")
    np.testing.assert_array_equal(data.X[:, 0], [0, 1, 0, 1])  # levels sorted: n=0, y=1


def test_question_mark_as_missing_then_imputed_from_train_only(tmp_path):
    rows = ["a,b,label"] + [f"{i},{'?' if i == 3 else i * 2},{i % 2}" for i in range(20)]
    path = write_csv(tmp_path, "\n".join(rows))
    with pytest.raises(ValueError, match=r"column 'b', row 3 \(line 5\).*missing"):
        table(path, label_column="label", na_values=("?",))
    data = table(path, label_column="label", na_values=("?",), missing="impute")
    assert np.isnan(data.X).sum() == 1
    prepared = prepare(data, PrepareConfig(test_fraction=0.2, val_fraction=0.0, scaling="none"))
    train_b = prepared.train.X[:, 1]
    splits = np.concatenate([prepared.train.X, prepared.test.X])
    assert np.isfinite(splits).all()
    original = data.X[:, 1][np.isin(data.row_ids, prepared.train.row_ids)]
    assert prepared.scaler.fill[1] == pytest.approx(np.nanmean(original))
    assert train_b.size == len(prepared.train)


def test_mask_policy_keeps_an_observed_mask(tmp_path):
    rows = ["a,b,label"] + [f"{i},{'' if i == 4 else i},{i % 2}" for i in range(20)]
    data = table(write_csv(tmp_path, "\n".join(rows)), label_column="label", missing="mask")
    prepared = prepare(data, PrepareConfig(test_fraction=0.2, val_fraction=0.0))
    masks = {
        int(r): m
        for split in (prepared.train, prepared.test)
        for r, m in zip(split.row_ids, split.observed)
    }
    assert not masks[4][1] and masks[4][0] and masks[5].all()


def test_drop_policy_drops_incomplete_rows(tmp_path):
    rows = ["a,b,label"] + [f"{i},{'' if i in (2, 7) else i},{i % 2}" for i in range(12)]
    data = table(write_csv(tmp_path, "\n".join(rows)), label_column="label", missing="drop")
    assert data.n_samples == 10 and 2 not in data.row_ids and 7 not in data.row_ids


def test_parquet_file_loads(tmp_path):
    frame = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0, 4.0], "y": [0.5, 0.1, 0.3, 0.2], "cls": ["a", "b", "a", "b"]}
    )
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    data = table(str(path), label_column="cls")
    assert data.feature_names == ("x", "y") and data.class_names == ("a", "b")


def test_digits_source_has_image_shape(digits):
    assert digits.image_shape == (8, 8) and digits.n_classes == 10 and digits.n_samples == 1797
    assert load_dataset(SourceConfig()).n_features == 64


# --- bad input: one test each, every message names what and where ---------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"file '.*nope.csv' does not exist"):
        table(str(tmp_path / "nope.csv"))


def test_empty_file(tmp_path):
    with pytest.raises(ValueError, match=r"file '.*data.csv' is empty"):
        table(write_csv(tmp_path, ""))


def test_header_only_file(tmp_path):
    with pytest.raises(ValueError, match="header but no data rows"):
        table(write_csv(tmp_path, "a,b\n"))


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"unknown format '.xlsx'.*\.csv"):
        table(write_csv(tmp_path, "a\n1\n", name="data.xlsx"))


def test_unreadable_parquet(tmp_path):
    with pytest.raises(ValueError, match=r"file '.*bad.parquet' cannot be read as parquet"):
        table(write_csv(tmp_path, "this is not parquet", name="bad.parquet"))


def test_malformed_csv(tmp_path):
    with pytest.raises(ValueError, match=r"file '.*data.csv' cannot be read as csv"):
        table(write_csv(tmp_path, 'a,b\n1,2\n3,"4\n5,6,7,8\n'))


def test_no_numeric_columns_hints_at_separator(tmp_path):
    rows = ["a;b"] + [f"{i};{i * 3}" for i in range(40)]
    with pytest.raises(ValueError, match=r"no numeric columns.*separator ','"):
        table(write_csv(tmp_path, "\n".join(rows)))


def test_text_in_numeric_column_names_row_and_value(tmp_path):
    rows = ["a,b"] + [f"{i},{i * 2}" for i in range(30)]
    rows[18] = "17,3.4x"
    with pytest.raises(
        ValueError, match=r"column 'b', row 17 \(line 19\): value '3.4x' is not a number"
    ):
        table(write_csv(tmp_path, "\n".join(rows)))


def test_nan_forbidden_by_policy(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"column 'b', row 1 \(line 3\): value nan is missing and "
        r"missing='error'",
    ):
        table(write_csv(tmp_path, "a,b\n1,2\n2,\n3,1\n"))


def test_infinite_value(tmp_path):
    with pytest.raises(
        ValueError, match=r"column 'b', row 2 \(line 4\): value .*inf.* is infinite"
    ):
        table(write_csv(tmp_path, "a,b\n1,2\n2,3\n3,inf\n"), missing="impute")


def test_value_overflowing_float32_names_line_and_value(tmp_path):
    rows = ["a,b"] + [f"{i},{i * 2}.5" for i in range(20)]
    rows[12] = "11,1e308"
    with pytest.raises(
        ValueError,
        match=r"file '.*data.csv', column 'b', row 11 \(line 13\): value 1e\+308 does not fit "
        r"in float32 \(largest magnitude 3.4e\+38\)",
    ):
        table(write_csv(tmp_path, "\n".join(rows)))
    rows[12] = "11,-1e308"
    with pytest.raises(ValueError, match=r"row 11 \(line 13\): value -1e\+308 does not fit"):
        table(write_csv(tmp_path, "\n".join(rows)))


def test_value_overflowing_float32_in_parquet_names_row(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "x3": [0.5, 0.1, -1e308, 0.2]})
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    with pytest.raises(
        ValueError,
        match=r"file '.*data.parquet', column 'x3', row 2: value -1e\+308 does not fit in "
        r"float32 \(largest magnitude 3.4e\+38\)",
    ):
        table(str(path))


def test_largest_float32_value_still_loads(tmp_path):
    data = table(write_csv(tmp_path, "a,b\n1,3.4e38\n2,-3.4e38\n3,0\n"))
    assert np.isfinite(data.X).all() and data.X[0, 1] == np.float32(3.4e38)


def test_missing_label_column_lists_columns(tmp_path):
    with pytest.raises(
        ValueError, match=r"column 'target': no such column; the file has \['a', 'b'\]"
    ):
        table(write_csv(tmp_path, "a,b\n1,2\n2,3\n"), label_column="target")


def test_missing_label_value(tmp_path):
    with pytest.raises(ValueError, match=r"column 'c', row 1 \(line 3\): label is missing"):
        table(write_csv(tmp_path, "a,b,c\n1,2,x\n2,3,\n3,5,y\n"), label_column="c")


def test_constant_column(tmp_path):
    path = write_csv(tmp_path, "a,b\n1,7\n2,7\n3,7\n")
    with pytest.raises(ValueError, match=r"column 'b': column is constant \(every row = 7\)"):
        table(path)
    assert table(path, constant_columns="drop").feature_names == ("a",)
    assert table(path, constant_columns="keep").n_features == 2


def test_too_many_text_levels(tmp_path):
    rows = ["id,a"] + [f"user{i},{i}" for i in range(30)]
    with pytest.raises(
        ValueError, match=r"column 'id': text column with more than max_categories=20"
    ):
        table(write_csv(tmp_path, "\n".join(rows)))


def test_fewer_samples_than_classes():
    data = Dataset(
        X=np.eye(3, dtype=np.float32),
        feature_names=("a", "b", "c"),
        y=np.array([0, 1, 2]),
        class_names=tuple("vwxyz"),
    )
    with pytest.raises(ValueError, match="3 samples are fewer than the 5 classes"):
        prepare(data, PrepareConfig())


def test_class_too_small_for_a_stratified_split(tmp_path):
    rows = ["a,b,c"] + [f"{i},{i % 3},{'rare' if i == 0 else 'common'}" for i in range(12)]
    data = table(write_csv(tmp_path, "\n".join(rows)), label_column="c")
    with pytest.raises(ValueError, match=r"class 'rare' has 1 sample\(s\); .* needs at least 3"):
        prepare(data, PrepareConfig())


def test_image_shape_must_match_feature_count(tmp_path):
    with pytest.raises(ValueError, match=r"image_shape \(3, 3\) holds 9 values but the data has 2"):
        table(write_csv(tmp_path, "a,b\n1,2\n2,3\n3,1\n"), image_shape=(3, 3))


def test_bad_source_config_values():
    with pytest.raises(ValueError, match=r"missing='sometimes' is not one of"):
        SourceConfig(missing="sometimes")
    with pytest.raises(ValueError, match="source='file' needs a path"):
        SourceConfig(source="file")
