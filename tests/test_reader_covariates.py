"""The user covariate table reader (models.covariates_file)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from geo_ms.errors import SchemaError
from geo_ms.ingest.readers.covariates import read_covariate_table


def _write(tmp_path: Path, text: str, name: str = "cov.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8-sig"))
    return p


def test_reads_ids_and_numbers(tmp_path):
    p = _write(tmp_path, "region_id,north_eu_ancestry_pct,neurologists_per_100k\n"
                         "fra, 35.5 ,3.1\nnor,92,\n")
    t = read_covariate_table(p)
    assert t.columns.tolist() == ["region_id", "north_eu_ancestry_pct", "neurologists_per_100k"]
    assert t["region_id"].tolist() == ["FRA", "NOR"]
    assert t["north_eu_ancestry_pct"].tolist() == [35.5, 92.0]
    assert t["neurologists_per_100k"].iloc[0] == 3.1 and math.isnan(t["neurologists_per_100k"].iloc[1])


def test_selects_requested_columns(tmp_path):
    p = _write(tmp_path, "region_id;a;b\nFRA;1,5;2\n")
    assert read_covariate_table(p, columns=["a"]).to_dict("list") == {"region_id": ["FRA"],
                                                                      "a": [1.5]}


def test_missing_column_is_named(tmp_path):
    p = _write(tmp_path, "region_id,a\nFRA,1\n")
    with pytest.raises(SchemaError, match=r"cov\.csv: covariate column\(s\) b not in the table$"):
        read_covariate_table(p, columns=["b"])


def test_non_numeric_value_names_row(tmp_path):
    p = _write(tmp_path, "region_id,a\nFRA,1\nDEU,many\n")
    with pytest.raises(SchemaError, match=r"column 'a' has non-numeric value\(s\): row 3: 'many'$"):
        read_covariate_table(p)


def test_repeated_id_refused(tmp_path):
    p = _write(tmp_path, "region_id,a\nFRA,1\nfra,2\n")
    with pytest.raises(SchemaError, match=r"repeated region_id in row 2: 'FRA', row 3: 'FRA'$"):
        read_covariate_table(p)


def test_no_region_id_column(tmp_path):
    p = _write(tmp_path, "iso,a\nFRA,1\n")
    with pytest.raises(SchemaError, match=r"no 'region_id' column \(columns: iso, a\)$"):
        read_covariate_table(p)


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match=r"the covariate table does not exist$"):
        read_covariate_table(tmp_path / "nope.csv")


def test_pipeline_joins_the_table_and_refuses_clashes(tmp_path):
    from types import SimpleNamespace

    import pandas as pd

    from geo_ms.pipeline.stages import _with_covariates

    p = _write(tmp_path, "region_id,ancestry\nFRA,0.3\nDEU,0.5\n")
    said: list[str] = []
    ctx = SimpleNamespace(cfg={"models": {"covariates_file": str(p),
                                          "extra_covariates": ["ancestry"]}}, say=said.append)
    table = pd.DataFrame({"region_id": ["DEU", "ITA"], "x": [1.0, 2.0]})
    out, digest = _with_covariates(ctx, table)
    assert out["ancestry"].tolist()[0] == 0.5 and math.isnan(out["ancestry"].tolist()[1])
    assert len(digest) == 64 and said == [f"  covariates: ancestry from {p}"]
    with pytest.raises(SchemaError, match=r"cov\.csv: covariate column\(s\) ancestry already in "
                                          r"the analysis table$"):
        _with_covariates(ctx, table.assign(ancestry=1.0))
