"""The report's Answer: sentences chosen by verdict, quoting claims.csv's numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from geo_ms.report.answer import (
    ECOLOGICAL_FALLACY,
    answer_sentences,
    claim_cards,
    estimate_text,
    scope_text,
)

RULE_R = "Pearson r of log_prevalence with cloud_cover_pct (all regions), 95% bootstrap CI."
RULE_B = "OLS coefficient of cloud_cover_pct in ols_adj_lat_gdp (HC3 95% CI)."


def _claims_csv(tmp_path: Path, c1: tuple[float, float, float, str]) -> Path:
    """A claims.csv as the models stage writes it (values with three significant digits)."""
    est, lo, hi, verdict = c1
    claims = pd.DataFrame({
        "claim_id": ["C1", "C2", "C3", "C4"],
        "claim": ["MS is more common in cloudier countries", "Less UV goes with more MS",
                  "The cloud association holds once latitude and wealth are accounted for",
                  "Vitamin D dosing"],
        "test": [RULE_R, RULE_R.replace("cloud_cover_pct", "uv_index"), RULE_B, "Not testable"],
        "estimate": [est, -0.885, -0.0152, None], "ci_low": [lo, -0.912, -0.0201, None],
        "ci_high": [hi, -0.852, -0.0103, None], "n": [194, 194, 194, None],
        "verdict": [verdict, "supported", "not supported", "not testable with regional data"],
        "caveat": ["x"] * 4,
    })
    path = tmp_path / f"claims_{verdict.replace(' ', '_')}.csv"
    claims.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("n", [194])
def test_opposite_c1_verdicts_give_different_sentences_quoting_claims_csv(
        tmp_path: Path, n: int) -> None:
    yes = _claims_csv(tmp_path, (0.437, 0.24, 0.612, "supported"))
    no = _claims_csv(tmp_path, (-0.354, -0.48, -0.211, "not supported"))
    a_yes = answer_sentences(pd.read_csv(yes), n=n, sample=False)
    a_no = answer_sentences(pd.read_csv(no), n=n, sample=False)
    assert a_yes[0] == ("Yes: across the 194 countries, MS is more common where it is "
                        "cloudier (r = 0.437, 95 % CI 0.24 to 0.612, n = 194).")
    assert a_no[0] == ("No: across the 194 countries, MS is not more common where it is "
                       "cloudier (r = -0.354, 95 % CI -0.48 to -0.211, n = 194).")
    # each quotes its estimate and CI exactly as printed in its claims.csv
    for path, sentence in ((yes, a_yes[0]), (no, a_no[0])):
        with path.open(newline="") as f:
            c1 = next(r for r in csv.DictReader(f) if r["claim_id"] == "C1")
        assert f"r = {c1['estimate']}, 95 % CI {c1['ci_low']} to {c1['ci_high']}" in sentence
    assert a_yes[1:] == a_no[1:]  # the other claims did not change
    assert 3 <= len(a_yes) <= 5
    assert a_yes[2] == ("Once latitude and wealth are accounted for, cloudier countries do "
                        "not have more MS (adjusted coefficient = -0.0152, 95 % CI -0.0201 "
                        "to -0.0103, n = 194).")
    assert a_yes[-1] == ("These data cannot say anything about an individual's risk, nor "
                         "test the article's vitamin D doses.")


def test_inconclusive_c1_reads_as_neither_yes_nor_no() -> None:
    claims = pd.DataFrame({"claim_id": ["C1"], "test": [RULE_R], "estimate": [-0.13],
                           "ci_low": [-0.269], "ci_high": [0.0083], "verdict": ["inconclusive"]})
    text = answer_sentences(claims, n=194, sample=False)[0]
    assert text.startswith("Not clearly: across the 194 countries")
    assert "(r = -0.13, 95 % CI -0.269 to 0.0083)" in text


def test_sample_answer_names_its_scope_in_every_sentence() -> None:
    claims = pd.DataFrame({"claim_id": ["C1", "C2"], "test": [RULE_R, RULE_R],
                           "estimate": [0.5, -0.4], "ci_low": [0.1, -0.7],
                           "ci_high": [0.8, -0.1], "verdict": ["supported", "supported"]})
    scope = "19 European countries, built-in sample; not the full analysis"
    assert scope_text(19, True) == scope
    sentences = answer_sentences(claims, n=19, sample=True)
    assert len(sentences) == 3
    for s in sentences:
        assert scope in s, s


def test_agreement_is_shown_only_when_the_claims_carry_it() -> None:
    base = pd.DataFrame({"claim_id": ["C1"], "claim": ["cloud"], "test": [RULE_R],
                         "estimate": [0.2], "ci_low": [0.1], "ci_high": [0.3], "n": [40],
                         "verdict": ["supported"]})
    assert claim_cards(base)[0] == {"claim_id": "C1", "claim": "cloud", "verdict": "supported",
                                    "number": "r = 0.2, 95 % CI 0.1 to 0.3", "n": "40",
                                    "agreement": ""}
    with_agree = base.assign(agreement=["agrees in 3 of 4 independent sources"])
    assert claim_cards(with_agree)[0]["agreement"] == "agrees in 3 of 4 independent sources"
    assert answer_sentences(with_agree, n=40, sample=False)[1] == (
        "Across independent MS sources (GBD 2016 and the Atlas of MS editions), the cloud "
        "verdict agrees in 3 of 4 independent sources.")
    assert "individual" in ECOLOGICAL_FALLACY


def test_estimate_without_ci() -> None:
    assert estimate_text({"test": "OLS coefficient of x", "estimate": 0.25}) == (
        "adjusted coefficient = 0.25")


def test_the_uv_sentence_says_whether_uv_separates_from_latitude(tmp_path: Path) -> None:
    base = pd.read_csv(_claims_csv(tmp_path, (0.1, -0.2, 0.3, "inconclusive")))
    adj = pd.DataFrame({"claim_id": ["C2-adj"], "claim": ["UV adjusted"],
                        "test": ["partial r of log prevalence with uv_index given ..."],
                        "estimate": [-0.0904], "ci_low": [-0.229], "ci_high": [0.0518],
                        "n": [194], "verdict": ["explained by confounding"], "caveat": ["x"]})
    without = answer_sentences(base, n=194, sample=False)[1]
    with_adj = answer_sentences(pd.concat([base, adj]), n=194, sample=False)[1]
    assert without == "Less UV does go with more MS (r = -0.885, 95 % CI -0.912 to -0.852, n = 194)."
    assert with_adj == (
        "Less UV does go with more MS (r = -0.885, 95 % CI -0.912 to -0.852, n = 194); but "
        "this cannot be separated from latitude and wealth (partial r = -0.0904, 95 % CI "
        "-0.229 to 0.0518, n = 194).")
