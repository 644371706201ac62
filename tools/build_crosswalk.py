"""Build ``geo_ms/data/gbd_location_iso3.csv`` and ``geo_ms/data/ne_country_names.csv``.

Maintainer script, not used at run time. It matches the GBD 2016 location names (DDF
entity file ``ddf--entities--location.csv``) against the country names of Natural Earth
5.1.1 (``ne_10m_admin_0_countries_deu.zip``), then applies a short table of explicit
overrides for the names that do not match. Only *national* GBD locations are kept: those
with rows in the DDF datapoint files (the export is country-level only) plus the US
Virgin Islands (id 422), which is national but has no MS rows.

Run it as::

    python -m tools.build_crosswalk DDF_FOLDER NE_ZIP [OUT_FOLDER]

e.g. ``python -m tools.build_crosswalk $GEO_MS_DATA_MIRROR/ms/gbd2016_ddf
$GEO_MS_DATA_MIRROR/boundaries/ne_10m_admin_0_countries_deu.zip geo_ms/data``.

>>> sorted(OVERRIDES)
[49, 170]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from geo_ms._io import atomic_path
from geo_ms.ingest.readers.prevalence import match_region_names, normalise_name

__all__ = ["NE_NAME_FIELDS", "OVERRIDES", "build_crosswalk", "main", "ne_country_names"]

#: Natural Earth attribute columns whose values are used as country names.
NE_NAME_FIELDS: tuple[str, ...] = (
    "NAME",
    "NAME_LONG",
    "ADMIN",
    "GEOUNIT",
    "SUBUNIT",
    "BRK_NAME",
    "FORMAL_EN",
    "NAME_SORT",
    "NAME_EN",
    "NAME_ALT",
    "NAME_CIAWF",
)

#: GBD location ids whose names do not match a Natural Earth name, with their ISO3 code.
#: Each is checked by hand: the GBD name (left, in the comment) is the country named.
OVERRIDES: dict[int, str] = {
    49: "MKD",  # Macedonia (NE: "North Macedonia"; "Macedonia" is not among its names)
    170: "COG",  # Congo (NE: "Republic of the Congo"; "Congo" alone is ambiguous with DR Congo)
}

#: GBD 2016 national locations without MS datapoints that are still national.
_EXTRA_NATIONAL = (422,)


def ne_country_names(ne_path: str | Path) -> pd.DataFrame:
    """Return ``iso3, name`` pairs from a Natural Earth admin-0 file (one row per pair).

    The ISO3 code is ``ISO_A3_EH``, or ``ADM0_A3`` where that is ``-99``. A name whose
    matching key (:func:`geo_ms.ingest.readers.prevalence.normalise_name`) points to two
    different codes is dropped as ambiguous.
    """
    import pyogrio

    path = str(ne_path)
    if path.endswith(".zip") and not path.startswith("zip://"):
        path = f"zip://{path}!{Path(path).stem}.shp"
    ne = pyogrio.read_dataframe(path, read_geometry=False, encoding="utf-8")
    iso3 = ne["ISO_A3_EH"].where(ne["ISO_A3_EH"] != "-99", ne["ADM0_A3"])
    rows = []
    for field in NE_NAME_FIELDS:
        for name, code in zip(ne[field], iso3, strict=True):
            if isinstance(name, str) and name.strip() and name != "-99":
                rows.append((code, name.strip()))
    pairs = pd.DataFrame(rows, columns=["iso3", "name"]).drop_duplicates()
    pairs["key"] = pairs["name"].map(normalise_name)
    n_codes = pairs.groupby("key")["iso3"].nunique()
    pairs = pairs[pairs["key"].map(n_codes) == 1]
    pairs = pairs.drop_duplicates("key").sort_values(["iso3", "name"])
    return pairs[["iso3", "name"]].reset_index(drop=True)


def build_crosswalk(ddf_folder: str | Path, ne_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the GBD→ISO3 crosswalk and the Natural Earth name table.

    Returns
    -------
    (crosswalk, names)
        ``crosswalk`` has columns ``location_id, gbd_name, iso3, method`` (``name`` or
        ``override``), sorted by location id; ``names`` has ``iso3, name``.
    """
    ddf = Path(ddf_folder)
    locations = pd.read_csv(ddf / "ddf--entities--location.csv", dtype={"location": int})
    national: set[int] = set(_EXTRA_NATIONAL)
    for datapoints in sorted(ddf.glob("*/ddf--datapoints--*--by--location--*.csv")):
        national |= set(pd.read_csv(datapoints, usecols=["location"])["location"].astype(int))
    locations = locations[locations["location"].isin(national)].copy()
    names = ne_country_names(ne_path)
    lookup = dict(zip(names["name"], names["iso3"], strict=True))
    rows = []
    unmatched: list[str] = []
    for loc, gbd_name, short, medium in locations[
        ["location", "name", "short_name", "medium_name"]
    ].itertuples(index=False):
        if loc in OVERRIDES:
            rows.append((loc, gbd_name, OVERRIDES[loc], "override"))
            continue
        found = None
        for candidate in (gbd_name, medium, short):
            if isinstance(candidate, str):
                found = match_region_names([candidate], lookup)[candidate]
                if found:
                    break
        if found is None:
            unmatched.append(f"{loc} {gbd_name!r}")
        rows.append((loc, gbd_name, found, "name"))
    if unmatched:
        raise SystemExit("no Natural Earth match (add to OVERRIDES): " + "; ".join(unmatched))
    crosswalk = pd.DataFrame(rows, columns=["location_id", "gbd_name", "iso3", "method"])
    crosswalk = crosswalk.sort_values("location_id").reset_index(drop=True)
    dup = crosswalk[crosswalk["iso3"].duplicated(keep=False)]
    if not dup.empty:
        raise SystemExit(f"ISO3 codes used twice:\n{dup}")
    return crosswalk, names


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``DDF_FOLDER NE_ZIP [OUT_FOLDER]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print(__doc__)
        return 2
    out = Path(args[2]) if len(args) == 3 else Path(__file__).resolve().parents[1] / "geo_ms" / "data"
    crosswalk, names = build_crosswalk(args[0], args[1])
    with atomic_path(out / "gbd_location_iso3.csv") as tmp:
        crosswalk.to_csv(tmp, index=False, lineterminator="\n")
    with atomic_path(out / "ne_country_names.csv") as tmp:
        names.to_csv(tmp, index=False, lineterminator="\n")
    print(f"wrote {len(crosswalk)} locations and {len(names)} names to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
