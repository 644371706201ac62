"""The analysis plan as data: [[claims]] + [robustness] parsed, merged, validated, hashed."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from geo_ms.config import load_config, plan
from geo_ms.errors import ConfigError
from geo_ms.models.plan import MEMBERS, Claim, Plan, build_plan, default_plan, parse_claim

C1_TOML = '''
[[claims]]
id = "C1"
text = 'MS is more common in cloudier countries ("There is a higher rate of MS patients in countries where the climates are cloudier.")'
exposure = "cloud_cover_pct"
direction = "positive"
test = "pearson"
'''


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_default_plan_is_todays_claims_with_c5_nested():
    p = plan(load_config())
    assert p.ids == ("C1", "C2", "C2-adj", "C3", "C4", "C5-mechanism", "C1-europe",
                     "C3-europe")
    c1, c2adj, c3 = p.claim("C1"), p.claim("C2-adj"), p.claim("C3")
    assert (c1.test, c1.exposure, c1.sign, c1.adjust, c1.sesoi) == (
        "pearson", "cloud_cover_pct", 1, (), 0.1)
    assert (c2adj.test, c2adj.exposure, c2adj.sign) == ("partial", "uv_index", -1)
    assert c3.test == "ols_adjusted" and c3.adjust == ("abs_latitude", "log_gdp_per_capita")
    assert c3.sesoi == 5.0  # models.sesoi_pct_per10
    c5 = p.claim("C5-mechanism")
    assert (c5.test, c5.exposure, c5.clear_sky, c5.sign) == (
        "nested_dose", "vitd_uv_allsky", "vitd_uv_clear", -1)
    assert p.claim("C4").testable is False and p.claim("C4").columns == ()
    assert p.claim("C3-europe").subset == "europe"
    assert all(c.outcomes == ("gbd2016_prev", "atlas2020") for c in p.claims)
    for cid in ("C1", "C2", "C2-adj", "C3"):
        assert set(p.members(cid)) == set(MEMBERS)
    assert p.added == p.replaced == ()
    assert p.provenance() == f"analysis plan {p.hash[:12]} (the default plan)"


def test_load_config_keeps_the_plan_as_plain_data():
    cfg = load_config()
    json.dumps(cfg)  # the manifest dumps the configuration
    assert cfg["plan"] == {"hash": default_plan().hash, "added": [], "replaced": []}
    assert [c["id"] for c in cfg["claims"]][:2] == ["C1", "C2"]
    assert cfg["robustness"]["C3"][0] == "common_sample"


def test_hash_ignores_formatting_and_order(tmp_path):
    base = default_plan().hash
    # the same C1 re-declared: keys in another order, extra whitespace, sesoi spelled out
    p = _write(tmp_path, '''
[[claims]]
test="pearson"
direction   =   "positive"
sesoi = 1e-1
exposure = "cloud_cover_pct"
text = 'MS is more common in cloudier countries  ("There is a higher rate of MS patients in countries where the climates are cloudier.")'
id = "C1"

[robustness]
C3 = ["migrant_share", "health_expenditure", "main_territory", "low_reported_rates", "ancestry", "popw", "leave_one_subregion_out", "spatial_error", "subregion_fe", "common_sample"]

[[claims]]
id = "C3"
text = "The cloud association holds once latitude and wealth are accounted for"
exposure = "cloud_cover_pct"
direction = "positive"
test = "ols_adjusted"
adjust = ["log_gdp_per_capita", "abs_latitude"]
sesoi = 5
''')
    got = plan(load_config(p))
    assert got.replaced == ("C1", "C3")
    assert got.hash == base
    # ... and the canonical plan is what was hashed: sha256 of its compact JSON
    import hashlib

    blob = json.dumps(got.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(blob.encode()).hexdigest() == base


@pytest.mark.parametrize("change", [
    'sesoi = 0.2', 'exposure = "cloud_cover_pct_popw"', 'subset = "abs_lat_gt_35"',
    'outcomes = ["gbd2016_prev"]', 'text = "another claim"',
])
def test_hash_changes_with_substance(tmp_path, change):
    key = change.split(" =")[0]
    body = "\n".join(ln for ln in C1_TOML.splitlines() if not ln.startswith(key + " ="))
    got = plan(load_config(_write(tmp_path, body + "\n" + change + "\n")))
    assert got.hash != default_plan().hash


def test_hash_changes_with_models_sesoi_and_robustness(tmp_path):
    assert plan(load_config(overrides={"models.sesoi_r": 0.2})).hash != default_plan().hash
    p = _write(tmp_path, '[robustness]\nC1 = ["common_sample"]\n')
    got = plan(load_config(p))
    assert got.members("C1") == ("common_sample",) and got.hash != default_plan().hash


def test_user_claim_is_added_and_named(tmp_path):
    p = _write(tmp_path, '''
[[claims]]
id = "C6"
text = "Sunnier winters, less MS"
exposure = "uv_index_winter"
direction = "negative"
test = "ols_adjusted"
sesoi = 3.0

[robustness]
C6 = ["popw", "common_sample"]
''' + C1_TOML)
    got = plan(load_config(p))
    assert got.ids[-1] == "C6" and got.ids[0] == "C1"
    assert got.added == ("C6",) and got.replaced == ("C1",)
    assert got.claim("C6").adjust == ("abs_latitude", "log_gdp_per_capita")
    assert got.members("C6") == ("popw", "common_sample")
    assert got.members("C1") == default_plan().members("C1")  # replaced claim keeps them
    assert got.provenance() == (f"analysis plan {got.hash[:12]} (user configuration "
                                "replaced C1; added C6)")


def test_unknown_claim_key_names_the_closest(tmp_path):
    p = _write(tmp_path, C1_TOML.replace("exposure =", "exposre ="))
    with pytest.raises(ConfigError, match=r"c\.toml: \[\[claims\]\] entry 'C1': unknown key "
                                          r"'exposre' \(did you mean 'exposure'\?\)"):
        load_config(p)


def test_missing_exposure_column_names_claim_and_column(tmp_path):
    p = _write(tmp_path, C1_TOML.replace('"cloud_cover_pct"', '"cloud_cover_pcct"'))
    with pytest.raises(ConfigError, match=r"\[\[claims\]\] entry 'C1': exposure "
                                          r"'cloud_cover_pcct' is not a column of the table "
                                          r"\(did you mean 'cloud_cover_pct'\?\)"):
        load_config(p)


def test_adjustment_column_checked_and_extra_covariates_allowed(tmp_path):
    claim = C1_TOML.replace('test = "pearson"', 'test = "partial"\nadjust = ["neurologists"]')
    with pytest.raises(ConfigError, match=r"entry 'C1': adjust 'neurologists' is not a column"):
        load_config(_write(tmp_path, claim))
    cov = tmp_path / "cov.csv"
    cov.write_text("region_id,neurologists\nFRA,3\n")
    ok = load_config(_write(tmp_path, f'[models]\ncovariates_file = "{cov}"\n'
                                      'extra_covariates = ["neurologists"]\n' + claim))
    assert plan(ok).claim("C1").adjust == ("neurologists",)


def test_default_plan_names_only_columns_a_run_produces():
    from geo_ms.exposures.compute import exposure_columns
    from geo_ms.models.plan import KNOWN_COVARIATES

    default_plan().check_columns({*exposure_columns(), *KNOWN_COVARIATES}, "default")


def test_check_columns_against_a_table():
    p = default_plan()
    table_cols = {c for cl in p.claims for c in cl.columns} - {"vitd_uv_clear"}
    with pytest.raises(ConfigError, match=r"run: \[\[claims\]\] entry 'C5-mechanism': "
                                          r"clear_sky 'vitd_uv_clear' is not a column"):
        p.check_columns(table_cols, "run")
    p.check_columns(table_cols | {"vitd_uv_clear"})


@pytest.mark.parametrize("text, message", [
    ('direction = "up"', r"key 'direction' = 'up' is not one of positive, negative"),
    ('test = "pearsn"', r"key 'test' = 'pearsn' is not one of .* \(did you mean 'pearson'\?\)"),
    ('subset = "europa"', r"key 'subset' = 'europa' is not one of .* \(did you mean 'europe'\?\)"),
    ('outcomes = ["atlas202"]', r"key 'outcomes' has unknown outcome 'atlas202' \(did you mean 'atlas2020'\?\)"),
    ('sesoi = -1', r"key 'sesoi' must be a number > 0, got -1"),
    ('adjust = ["abs_latitude"]', r"a 'pearson' test is crude but 'adjust' = \['abs_latitude'\]"),
    ('clear_sky = "vitd_uv_clear"', r"key 'clear_sky' is only used by test = \"nested_dose\""),
])
def test_bad_claim_values_refused(tmp_path, text, message):
    key = text.split(" =")[0]
    body = "\n".join(ln for ln in C1_TOML.splitlines() if not ln.startswith(key + " ="))
    with pytest.raises(ConfigError, match=r"\[\[claims\]\] entry 'C1': " + message):
        load_config(_write(tmp_path, body + "\n" + text + "\n"))


def test_structural_mistakes_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"'claims' must be an array of tables \(\[\[claims\]\]\)"):
        load_config(_write(tmp_path, '[claims]\nid = "C1"\n'))
    with pytest.raises(ConfigError, match=r"claim id 'C1' is declared twice"):
        load_config(_write(tmp_path, C1_TOML + C1_TOML))
    with pytest.raises(ConfigError, match=r"\[robustness\] names claim 'C7', which is not in "
                                          r"the plan"):
        load_config(_write(tmp_path, '[robustness]\nC7 = ["popw"]\n'))
    with pytest.raises(ConfigError, match=r"\[robustness\] C1 has unknown member 'pop_w' "
                                          r"\(did you mean 'popw'\?\)"):
        load_config(_write(tmp_path, '[robustness]\nC1 = ["pop_w"]\n'))
    with pytest.raises(ConfigError, match=r"entry 'C9': key 'direction' is missing"):
        parse_claim({"id": "C9", "text": "t", "exposure": "x", "test": "pearson"})
    with pytest.raises(ConfigError, match=r"the plan \(\[\[claims\]\], \[robustness\]\) is set "
                                          "in a configuration file"):
        load_config(overrides={"claims.id": "C1"})


def test_build_plan_replaces_in_place():
    base = [{"id": i, "text": "t", "exposure": "e", "direction": "positive", "test": "pearson"}
            for i in ("A", "B")]
    got = build_plan(base, {}, [{"id": "A", "text": "new", "exposure": "e",
                                 "direction": "negative", "test": "pearson"}])
    assert got.ids == ("A", "B") and got.claim("A").sign == -1
    assert isinstance(got, Plan) and isinstance(got.claims[0], Claim)


def test_default_toml_declares_every_claim_key_it_documents():
    from importlib import resources

    toml = tomllib.loads(resources.files("geo_ms").joinpath("default_config.toml")
                         .read_text("utf-8"))
    assert len(toml["claims"]) == 8 and set(toml["robustness"]) == {"C1", "C2", "C2-adj", "C3"}


@pytest.mark.slow
def test_run_writes_the_plan_hash_to_log_and_manifest(tmp_path, monkeypatch):
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    from geo_ms.pipeline.run import run

    cfg = load_config(overrides={"run.sample": "always", "models.n_boot": 100})
    res = run(cfg, say=lambda m: None)
    h = default_plan().hash
    log = (res.report_dir / "run.log").read_text()
    assert f"analysis plan {h[:12]} (the default plan); sha256 {h}" in log
    assert json.loads((res.report_dir / "manifest.json").read_text())["plan_hash"] == h
