"""``geo-ms data list|info|fetch|verify`` through :func:`geo_ms.cli.main`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from geo_ms.cli import main
from geo_ms.ingest import fetch as F
from geo_ms.ingest.catalog import list_datasets

SEX = "ms/gbd2016_ddf/ddf--entities--sex.csv"
SEX_SHA = "2acb174084cd43c104b23a1f3919629f3a3c66356d2b14133cd741cb78dd891a"


@pytest.fixture
def home(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.delenv("GEO_MS_OFFLINE", raising=False)
    monkeypatch.setattr(F, "RETRY_WAIT", 0.0)
    # no test may probe the real network
    monkeypatch.setattr(F, "network_available", lambda timeout=3.0, hosts=None: False)
    return workdir


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["data", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_dataset_with_status(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "list")
    assert code == 0
    for ds in list_datasets():
        row = next(line for line in out.splitlines() if f" {ds.id} " in line)
        assert F.status(ds) in row, ds.id
    assert "emsp_barometer_2011" in out and "package" in out and "user-supplied" in out
    assert "mirror: unset (GEO_MS_DATA_MIRROR)" in out


def test_list_by_kind(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "list", "--kind", "uv")
    assert code == 0
    ids = [d.id for d in list_datasets() if f" {d.id} " in out]
    assert ids == ["neo_uvi_clim", "temis_vitd_clear", "omi_omuvbd"]
    code, _, err = _run(capsys, "list", "--kind", "rain")
    assert code == 2
    assert err.splitlines() == [
        "error: unknown dataset kind 'rain'",
        ("hint: Use one of: prevalence, cloud, uv, solar, boundaries, population, points, "
         "covariate."),
    ]


def test_info(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "info", "cru_cl1_radiation")
    assert code == 0
    assert "  citation: New, M., Hulme, M. and Jones, P. D. (1999)" in out
    assert "  file crad6190.zip [missing]" in out
    assert "    url: https://www.ipcc-data.org/download_data/obs/crad6190.zip" in out


def test_fetch_needs_ids_or_all(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "fetch")
    assert code == 2
    assert err.splitlines()[0] == "error: geo-ms data fetch: no dataset given"


def test_fetch_unknown_id(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "fetch", "ncep_tcd")
    assert code == 2
    assert err.splitlines()[0] == "error: unknown dataset 'ncep_tcd'; close matches: ncep_tcdc"


def test_fetch_unreachable_id_explicitly_fails(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pooch

    def no_network(self: object, url: str, output_file: str, pooch_: object) -> None:
        raise requests.exceptions.ConnectionError(
            "Failed to resolve 'downloads.psl.noaa.gov' ([Errno -2] Name or service not known)"
        )

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", no_network)
    code, _, err = _run(capsys, "fetch", "ncep_tcdc")
    url = "https://downloads.psl.noaa.gov/Datasets/ncep.reanalysis/Monthlies/other_gauss/tcdc.eatm.mon.ltm.1991-2020.nc"
    target = home / "data" / "raw" / "ncep_tcdc" / "tcdc.eatm.mon.ltm.1991-2020.nc"
    assert code == 2
    assert err.splitlines() == [
        (
            f"error: ncep_tcdc/tcdc.eatm.mon.ltm.1991-2020.nc: download from {url} failed "
            "(host name not found - no network?)"
        ),
        (
            f"hint: Download {url} and save it as {target}, or set GEO_MS_DATA_MIRROR to a data "
            "mirror folder that holds it."
        ),
    ]
    assert not target.parent.exists()


def test_fetch_package_dataset(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "fetch", "sunshine_cities")
    assert code == 0
    assert out.startswith("ok       sunshine_cities/sunshine-hours.csv: ")
    assert out.strip().endswith("sunshine_hours_by_city/sunshine-hours.csv")


def _expected_counts(mirror: bool) -> dict[str, int]:
    counts = {"ok": 0, "missing": 0, "user": 0}
    for ds in list_datasets():
        for spec in ds.files:
            if spec.resource or (mirror and spec.mirror_path):
                counts["ok"] += 1
            elif ds.user_supplied:
                counts["user"] += 1
            else:
                counts["missing"] += 1
    return counts


def test_fetch_all_without_mirror_lists_missing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "fetch", "--all")
    assert code == 0
    c = _expected_counts(mirror=False)
    assert (c["ok"], c["missing"], c["user"]) == (4, 54, 3)  # + 3 Atlas, GPW, 4 covariates
    assert out.splitlines()[-1] == (
        f"{c['ok']} ok, {c['missing']} missing, {c['user']} user-supplied, 0 failed verification"
    )
    assert "no network: downloads skipped" in out
    line = next(x for x in out.splitlines() if x.startswith("missing  cru_cl1_cloud/"))
    target = home / "data" / "raw" / "cru_cl1_cloud" / "ccld6190.zip"
    assert line == (
        "missing  cru_cl1_cloud/ccld6190.zip: Download https://www.ipcc-data.org/download_data/obs/"
        f"ccld6190.zip and save it as {target}, or set GEO_MS_DATA_MIRROR to a data mirror "
        "folder that holds it."
    )


def test_fetch_all_and_verify_with_mirror(
    mirror: Path, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(mirror))
    code, out, _ = _run(capsys, "fetch", "--all")
    assert code == 0
    c = _expected_counts(mirror=True)
    assert (c["ok"], c["missing"], c["user"]) == (42, 16, 3)  # + 3 Atlas, GPW, 4 covariates
    assert out.splitlines()[-1] == (
        f"{c['ok']} ok, {c['missing']} missing, {c['user']} user-supplied, 0 failed verification"
    )
    assert f"ok       gbd2016_ms/ddf--entities--sex.csv: mirror: {mirror / SEX}" in out.splitlines()
    code, out, _ = _run(capsys, "verify")
    assert code == 0
    assert out.splitlines()[-1].endswith(" file(s) checked, 0 mismatch(es)")
    assert (
        f"ok        gbd2016_ms/ddf--entities--sex.csv [mirror] {mirror / SEX}" in out.splitlines()
    )


def test_fetch_all_fails_on_a_corrupted_mirror_file(
    mirror: Path,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    bad = tmp_path_factory.mktemp("mirror_copy")
    (bad / "ms" / "gbd2016_ddf").mkdir(parents=True)
    # only the GBD entity file is copied (changed); nothing else is needed for this test
    data = bytearray((mirror / SEX).read_bytes())
    data[-2] = ord("X")
    (bad / SEX).write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(bad))
    code, out, _ = _run(capsys, "fetch", "--all")
    assert code == 1
    failed = [x for x in out.splitlines() if x.startswith("FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith(
        f"FAILED   gbd2016_ms/ddf--entities--sex.csv: SHA256 hash of mirror file "
        f"gbd2016_ms/ddf--entities--sex.csv ({bad / SEX}) does not match the known hash: "
        f"expected {SEX_SHA}, got {actual} -- "
    )
    assert out.splitlines()[-1].endswith(", 1 failed verification")
    code, out, _ = _run(capsys, "verify", "gbd2016_ms")
    assert code == 1
    assert (
        f"MISMATCH  gbd2016_ms/ddf--entities--sex.csv [mirror] {bad / SEX}: expected {SEX_SHA}, "
        f"got {actual}" in out.splitlines()
    )
    assert out.splitlines()[-1] == "1 file(s) checked, 1 mismatch(es)"
    # asking for the dataset explicitly is an error with the same message (exit 2)
    code, _, err = _run(capsys, "fetch", "--offline", "gbd2016_ms")
    assert code == 2
    assert f"expected {SEX_SHA}, got {actual}" in err.splitlines()[0]


def test_verify_reports_cached_and_unpinned_files(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = home / "data" / "raw"
    good = raw / "gbd2016_ms" / "ddf--entities--sex.csv"
    good.parent.mkdir(parents=True)
    good.write_bytes(b"sex,name\n1,Male\n2,Female\n3,Both\n")  # the real 32 bytes
    user = raw / "gpw_population" / "population.tif"
    user.parent.mkdir(parents=True)
    user.write_bytes(b"II*\x00")
    code, out, _ = _run(capsys, "verify", "gbd2016_ms", "gpw_population")
    assert code == 0
    lines = out.splitlines()
    assert f"ok        gbd2016_ms/ddf--entities--sex.csv [cache] {good}" in lines
    assert f"unpinned  gpw_population/population.tif [cache] {user}" in lines
    assert lines[-1] == "2 file(s) checked, 0 mismatch(es)"
