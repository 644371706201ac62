"""The report's Answer and claim cards: verdicts on both co-primary outcomes, in words
chosen by the verdict, from hand-made claims tables (one row per claim × outcome × sample)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_ms.models.plan import build_plan
from geo_ms.report.answer import (
    ECOLOGICAL_FALLACY,
    MECHANISM_NOTE,
    ROBUSTNESS_NOTE,
    answer_blocks,
    answer_sentences,
    claim_cards,
    curve_sentences,
    estimate_text,
    header_lines,
    scope_text,
)

PEARSON = "Pearson r of log prevalence with cloud_cover_pct (all regions)"
OLS = ("OLS of log prevalence on cloud_cover_pct + abs_latitude, log_gdp_per_capita, "
       "coefficient as % change in prevalence per 10 points of cloud cover")
HASH = "0123456789abcdef" * 4
GBD = {"outcome": "GBD 2016 prevalence, age-standardised", "outcome_id": "gbd2016_prev",
       "outcome_kind": "modelled", "provenance": "post hoc"}
ATLAS = {"outcome": "Atlas of MS 2020, crude prevalence", "outcome_id": "atlas2020",
         "outcome_kind": "reported", "provenance": "first analysed under the frozen plan"}


def _row(cid: str, outcome: dict, sample: str, test: str, est: float, lo: float, hi: float,
         n: int, verdict: str, robustness: str = "not assessed", differing: str = "") -> dict:
    return {"claim_id": cid, "claim": {"C1": "MS is more common in cloudier countries",
                                       "C2": "Less UV goes with more MS",
                                       "C3": "The cloud association holds once latitude and "
                                             "wealth are accounted for"}[cid],
            **outcome, "sample": sample, "exposure": "cloud_cover_pct", "test": test,
            "estimate": est, "ci_low": lo, "ci_high": hi, "ci_low_spatial": float("nan"),
            "ci_high_spatial": float("nan"), "n": n, "verdict": verdict,
            "robustness": robustness, "members_differing": differing, "plan_hash": HASH,
            "agreement": "", "caveat": "x"}


def _claims(atlas_c1: tuple[float, float, float, str]) -> pd.DataFrame:
    """C1 on GBD (inconclusive) and on the Atlas (given), C2 and C3 on both."""
    est, lo, hi, verdict = atlas_c1
    return pd.DataFrame([
        _row("C1", GBD, "all", PEARSON, -0.1249, -0.266, 0.0204, 191, "inconclusive",
             "robust"),
        _row("C1", ATLAS, "all", PEARSON, est, lo, hi, 98, verdict, "fragile",
             "subregion_fe (inconclusive); leave_one_subregion_out without Western Asia "
             "(inconclusive)"),
        _row("C1", GBD, "common", PEARSON, 0.0213, -0.18, 0.22, 98, "inconclusive"),
        _row("C1", ATLAS, "common", PEARSON, est, lo, hi, 98, verdict),
        _row("C1", GBD, "modelled_only", PEARSON, -0.31, -0.49, -0.11, 93, "contradicted"),
        _row("C2", GBD, "all", PEARSON.replace("cloud_cover_pct", "uv_index"), -0.8846,
             -0.912, -0.852, 194, "supported", "robust"),
        _row("C2", ATLAS, "all", PEARSON.replace("cloud_cover_pct", "uv_index"), -0.621,
             -0.73, -0.49, 98, "supported", "robust"),
        _row("C3", GBD, "all", OLS, -13.96, -18.14, -9.66, 191, "contradicted", "fragile",
             "subregion_fe (inconclusive)"),
        _row("C3", ATLAS, "all", OLS, -4.4, -16.2, 9.1, 98, "inconclusive", "robust"),
    ])


def test_opposite_verdicts_flip_the_sentences() -> None:
    yes = answer_sentences(_claims((0.3312, 0.12, 0.51, "supported")))
    no = answer_sentences(_claims((-0.3312, -0.51, -0.12, "contradicted")))
    atlas_yes = next(s for s in yes if s.startswith("On the reported Atlas of MS 2020, MS"))
    atlas_no = next(s for s in no if s.startswith("On the reported Atlas of MS 2020, MS"))
    assert atlas_yes.startswith("On the reported Atlas of MS 2020, MS is more common in "
                                "cloudier countries (r = 0.33, 95 % CI 0.12 to 0.51, n = 98)")
    assert atlas_no.startswith("On the reported Atlas of MS 2020, MS is less common in "
                               "cloudier countries, the opposite of the claim (r = −0.33, "
                               "95 % CI −0.51 to −0.12, n = 98)")
    # one sentence says the outcomes differ and which is reported, which modelled
    assert ("The two outcomes differ: inconclusive on the modelled GBD 2016, supported on the "
            "reported Atlas of MS 2020.") in yes
    assert ("The two outcomes differ: inconclusive on the modelled GBD 2016, contradicted on "
            "the reported Atlas of MS 2020.") in no
    # the other claims read the same
    assert [s for s in yes if "cloudier" not in s and "differ" not in s] == \
        [s for s in no if "cloudier" not in s and "differ" not in s]


def test_same_verdict_on_both_outcomes_gives_no_differ_sentence() -> None:
    blocks = {b["claim_id"]: b for b in answer_blocks(_claims((0.1, -0.1, 0.3, "inconclusive")))}
    assert blocks["C1"]["differ"] == ""
    assert blocks["C2"]["differ"] == ""  # supported on both
    assert blocks["C3"]["differ"] == ("The two outcomes differ: contradicted on the modelled "
                                      "GBD 2016, inconclusive on the reported Atlas of MS 2020.")
    assert [o["verdict"] for o in blocks["C1"]["outcomes"]] == ["inconclusive", "inconclusive"]


def test_rounding_imprecise_post_hoc_and_robustness_in_the_sentences() -> None:
    text = answer_sentences(_claims((0.1, -0.1, 0.3, "inconclusive")))
    c1_gbd = next(s for s in text if s.startswith("On the modelled GBD 2016"))
    assert c1_gbd == ("On the modelled GBD 2016 (post hoc), the estimate is imprecise: it "
                      "cannot tell whether MS is more or less common in cloudier countries "
                      "(r = −0.12, 95 % CI −0.27 to 0.02, n = 191); robust.")
    c3_gbd = next(s for s in text if "on the modelled gbd 2016 (post hoc), cloudier" in
                  s.lower())
    assert c3_gbd == ("On the modelled GBD 2016 (post hoc), cloudier countries have less MS "
                      "once latitude and wealth are accounted for, the opposite of the claim "
                      "(−14 % per 10 points of cloud cover, 95 % CI −18 to −10 %, n = 191); "
                      "fragile: inconclusive with sub-region fixed effects.")
    fragile = next(s for s in text if s.startswith("On the reported Atlas of MS 2020, the"))
    assert fragile.endswith("fragile: inconclusive with sub-region fixed effects, or "
                            "without Western Asia.")
    joined = " ".join(text)
    assert "too weak" not in joined
    assert "sunshine" not in joined  # C2 names UV only
    assert "Does less UV go with more MS?" in joined
    assert "agrees in" not in joined


def test_header_states_the_plan_and_which_outcomes_are_post_hoc() -> None:
    claims = _claims((0.1, -0.1, 0.3, "inconclusive"))
    assert header_lines(claims) == [
        "Analysis plan 0123456789ab.",
        ("Verdicts on the modelled GBD 2016 are post hoc (its results were seen before the "
        "plan was frozen); the reported Atlas of MS 2020 was first analysed under the frozen "
        "plan."), ROBUSTNESS_NOTE]
    base = [{"id": "C1", "text": "t", "exposure": "e", "direction": "positive",
             "test": "pearson"}]
    plan = build_plan(base, {}, [{"id": "C1", "text": "t2", "exposure": "e2",
                                  "direction": "positive", "test": "pearson"},
                                 {"id": "C9", "text": "u", "exposure": "e",
                                  "direction": "negative", "test": "partial"}])
    first = answer_sentences(claims, plan_line=plan.provenance())[0]
    assert first == (f"Analysis plan {plan.short_hash} (user configuration replaced C1; "
                     "added C9).")


def test_cards_give_each_outcome_and_the_influential_regions_of_a_fragile_verdict() -> None:
    claims = _claims((-0.3312, -0.51, -0.12, "contradicted")).assign(agreement=[
        ("direction: 1 of 2 sources exclude 0 in the claimed direction, 1 in the opposite one; "
        "estimates from −0.33 to 0.02"), "", "", "", "", "agrees in 2 of 2 independent sources",
        "", "", ""])
    influence = pd.DataFrame({
        "claim_id": ["C1"] * 3 + ["C1"], "outcome": ["atlas2020"] * 3 + ["gbd2016_prev"],
        "rank": [1, 2, 3, 1], "region_id": ["LBY", "ARE", "IRQ", "CAN"],
        "name": ["Libya", "United Arab Emirates", "Iraq", "Canada"],
        "dfbetas": [-0.2, 0.61, -0.4, 0.9]})
    cards = {c["claim_id"]: c for c in claim_cards(claims, influence=influence)}
    c1 = cards["C1"]
    assert [(o["name"], o["verdict"], o["post_hoc"]) for o in c1["outcomes"]] == [
        ("The modelled GBD 2016", "inconclusive", True),
        ("The reported Atlas of MS 2020", "contradicted", False)]
    gbd, atlas = c1["outcomes"]
    assert gbd["robustness"] == "robust"
    assert gbd["influential"] == ""  # robust: no influence list
    assert atlas["robustness"] == ("fragile: inconclusive with sub-region fixed effects, or "
                                   "without Western Asia")
    assert atlas["influential"] == "United Arab Emirates (0.61), Iraq (−0.40), Libya (−0.20)"
    assert c1["samples"] == [
        ("Common sample (n = 98): GBD 2016 inconclusive, r = 0.02 (−0.18 to 0.22); "
        "Atlas of MS 2020 contradicted, r = −0.33 (−0.51 to −0.12)"),
        ("Modelled only, no reported value (n = 93): GBD 2016 contradicted, r = −0.31 "
        "(−0.49 to −0.11)")]
    assert c1["agreement"].startswith("direction: 1 of 2 sources")
    assert cards["C2"]["claim"] == "Less UV goes with more MS"
    assert cards["C2"]["agreement"] == ""  # vote counting is not shown
    assert "individual" in ECOLOGICAL_FALLACY


def test_the_mechanism_card_states_its_limits_and_c4_its_caveat() -> None:
    c5 = {"claim_id": "C5-mechanism", "claim": "Clouds act through UV and vitamin D",
          **GBD, "sample": "all", "test": "log prevalence ~ log clear-sky dose + log cloud "
          "factor (all-sky / clear-sky) + adjustment set; the cloud factor's coefficient",
          "estimate": 2.314, "ci_low": 1.37, "ci_high": 3.25, "n": 191,
          "verdict": "contradicted", "robustness": "not assessed"}
    c4 = {"claim_id": "C4", "claim": "Vitamin D dosing", "test": "None.", "outcome": "",
          "verdict": "not testable with regional data", "provenance": "post hoc",
          "caveat": "individual dosing cannot be tested with regional data"}
    cards = claim_cards(pd.DataFrame([c5, c4]))
    assert cards[0]["outcomes"][0]["number"] == ("cloud-factor coefficient = 2.31, 95 % CI "
                                                 "1.37 to 3.25, n = 191")
    assert cards[0]["note"] == MECHANISM_NOTE
    assert "built from the cloud field under test" in MECHANISM_NOTE
    assert cards[1]["note"] == "individual dosing cannot be tested with regional data"
    assert cards[1]["outcomes"][0] == {
        "name": "", "verdict": "not testable with regional data",
        "verdict_class": "not-testable-with-regional-data", "number": "no estimate",
        "post_hoc": False, "robustness": "", "influential": ""}


def test_specification_curve_shares_close_the_answer() -> None:
    curve = pd.DataFrame({"claim_id": ["C1"] * 4, "estimate": [-0.2, -0.1, 0.05, 0.3],
                          "ci_low": [-0.3, -0.25, -0.1, 0.1], "ci_high": [-0.1, 0.05, 0.2, 0.5],
                          "rank": [1, 2, 3, 4],
                          "significance": ["negative", "not significant", "not significant",
                                           "positive"]})
    expected = ("Across 4 exploratory specifications of C1, 50% of the estimates are positive "
                "(25% with a CI excluding 0) and 50% negative (25% with a CI excluding 0).")
    assert curve_sentences(curve) == [expected]
    text = answer_sentences(_claims((0.1, -0.1, 0.3, "inconclusive")), curve=curve)
    assert text[-2:] == [expected, ("These data cannot say anything about an individual's "
                                   "risk, nor test the article's vitamin D doses.")]
    assert curve_sentences(None) == []


def test_a_one_row_per_claim_table_still_reads() -> None:
    claims = pd.DataFrame({"claim_id": ["C1"], "test": [PEARSON], "estimate": [0.5],
                           "ci_low": [0.1], "ci_high": [0.8], "n": [19],
                           "verdict": ["supported"]})
    scope = scope_text(19, True)
    text = answer_sentences(claims, n=19, sample=True)
    assert text[1] == ("Across the countries of the built-in sample, MS is more common in "
                       f"cloudier countries (r = 0.50, 95 % CI 0.10 to 0.80, n = 19; {scope}).")
    for s in text:
        assert scope in s, s


@pytest.mark.parametrize(("rec", "expected"), [
    ({"test": "partial r of ...", "estimate": -0.0904, "ci_low": -0.229, "ci_high": 0.0518,
      "ci_low_spatial": -0.333, "ci_high_spatial": 0.163, "n": 194},
     "partial r = −0.09, spatially corrected 95 % CI −0.33 to 0.16, n = 194"),
    ({"test": "OLS coefficient of x", "estimate": 0.25}, "coefficient = 0.25, n = —"),
    ({"test": "nested_dose: the cloud factor's coefficient", "estimate": 0.512,
      "ci_low": 0.1, "ci_high": 0.93, "n": 150},
     "cloud-factor coefficient = 0.51, 95 % CI 0.10 to 0.93, n = 150"),
])
def test_estimate_text(rec: dict, expected: str) -> None:
    assert estimate_text(rec) == expected
