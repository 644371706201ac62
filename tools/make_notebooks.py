import nbformat as nbf


def nb(cells):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    n.cells = [nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1]) for c in cells]
    return n

common_setup = """import os
import matplotlib.pyplot as plt
import pandas as pd

# geo_ms reads data through its catalog: from data/raw/ (cached downloads), the mirror
# named by GEO_MS_DATA_MIRROR, or the network.
print("mirror:", os.environ.get("GEO_MS_DATA_MIRROR", "(not set: downloads or cache)"))"""

n1 = nb([
 ("md", "# 01 — A tour of the data\n\nWhat geo_ms ingests: the catalog of public datasets, the GBD 2016 MS table, and the cloud and UV rasters, each read from its product's own format into one canonical form.\n\n*Caveat: GBD values are model outputs (DisMod-MR 2.1), not counts.*"),
 ("code", common_setup),
 ("md", "## The catalog\nOne entry per public dataset, with licence and citation."),
 ("code", """from geo_ms.ingest.catalog import list_datasets

cat = pd.DataFrame([{"id": d.id, "kind": d.kind, "licence": d.licence, "files": len(d.files)}
                    for d in list_datasets()])
cat"""),
 ("md", "## MS prevalence: GBD 2016 (DDF files, pinned commit)"),
 ("code", """from geo_ms.ingest.datasets import load_gbd

gbd = load_gbd()
sel = gbd.query("measure == 'prevalence' and metric == 'rate' and sex == 'both' "
                "and age == 'age_standardised' and year == 2016").set_index("iso3")["value"]
print(f"{sel.size} countries; median {sel.median():.2f} per 100,000")
sel.loc[["USA", "JPN", "CAN", "GBR", "NGA"]]"""),
 ("code", """assert abs(sel.loc["USA"] - 136.13) < 1e-9 and abs(sel.loc["JPN"] - 27.21) < 1e-9
ax = sel.sort_values().plot(kind="hist", bins=40, logx=False, figsize=(6, 3))
ax.set_xlabel("MS prevalence per 100,000 (GBD 2016, age-standardised, both sexes)")"""),
 ("md", "## Cloud cover: CRU CL 1.0 (IPCC-DDC ASCII grid, 1961–1990)"),
 ("code", """from geo_ms.exposures.climatology import annual_mean
from geo_ms.ingest.datasets import load_raster

cld = load_raster("cru_cl1_cloud")
print(cld.dims, cld.shape, cld.attrs["units"])
annual_mean(cld).plot(figsize=(9, 4), cmap="Blues", cbar_kwargs={"label": "cloud cover (%)"})
plt.title("CRU CL 1.0 annual cloud cover, 1961-1990 (New et al. 1999)")"""),
 ("md", "## UV: NASA NEO UV index climatology and TEMIS clear-sky vitamin-D dose"),
 ("code", """uvi = load_raster("neo_uvi_clim")
zonal = annual_mean(uvi).mean("lon")
print("zonal annual UV index at the equator and 60N:",
      round(float(zonal.sel(lat=0.5)), 2), round(float(zonal.sel(lat=59.5)), 2))
annual_mean(uvi).plot(figsize=(9, 4), cmap="magma", cbar_kwargs={"label": "UV index"})
plt.title("NASA NEO UV index climatology (Aura/OMI)")"""),
 ("code", """vitd = load_raster("temis_vitd_clear")
annual_mean(vitd).plot(figsize=(9, 4), cmap="viridis", cbar_kwargs={"label": "J m-2 per day"})
plt.title("TEMIS clear-sky vitamin-D UV dose, 2004-2020 climatology")"""),
])

n2 = nb([
 ("md", "# 02 — Exposures per country\n\nExact, area-weighted means (exactextract, `mean(coverage_weight=area_spherical_m2)`) of climatologies over Natural Earth countries, and a population-weighted variant from city populations."),
 ("code", common_setup),
 ("code", """from geo_ms.config import load_config
from geo_ms import load_regions
from geo_ms.exposures.compute import compute_exposures, exposure_specs

cfg = load_config()
regions = load_regions(cfg["regions"])
print(len(regions), "countries;", regions.crs)
regions[["region_id", "name", "continent", "abs_latitude", "abs_latitude_popw"]].head()"""),
 ("md", "Every configured exposure through `compute_exposures`, the one path `geo-ms run` and `geo-ms exposures` use (annual and local-winter windows, area- and population-weighted, city sunshine hours; values whose valid cells cover less than `exposures.min_valid_fraction` of a country are missing):"),
 ("code", """ecfg = cfg["exposures"]
expo = compute_exposures(regions, exposure_specs(ecfg), ecfg)
show = ["cloud_cover_pct", "cloud_cover_pct_winter", "cloud_cover_pct_popw", "uv_index",
        "uv_index_winter", "sunshine_hours_cities"]
expo.loc[["NOR", "GBR", "FRA", "EGY", "BRA", "AUS"], show].round(2)"""),
 ("code", """# Land-only CRU cloud: small islands are covered partly (valid_fraction < 1) or not at all.
expo.sort_values("valid_fraction").head(8)[["cloud_cover_pct", "valid_fraction"]]"""),
 ("code", """g = regions.merge(expo.reset_index(), on="region_id")
ax = g.plot("cloud_cover_pct", cmap="Blues", legend=True, figsize=(10, 5),
            missing_kwds={"color": "lightgrey", "hatch": "///", "label": "no data"},
            legend_kwds={"label": "cloud cover (%), area-weighted"})
ax.set_title("Annual cloud cover per country (CRU CL 1.0, 1961-1990)")"""),
 ("md", "Area vs population weighting: where people live differs from where land is."),
 ("code", """ax = expo.plot.scatter("cloud_cover_pct", "cloud_cover_pct_popw", figsize=(4, 4))
ax.axline((0, 0), slope=1, color="grey", lw=0.8)
(expo["cloud_cover_pct_popw"] - expo["cloud_cover_pct"]).abs().describe().round(2)"""),
])

n3 = nb([
 ("md", "# 03 — The claims\n\nJoin GBD 2016 prevalence with the exposures, fit the models and judge the article's claims. An ecological correlation between countries says nothing about an individual's risk; GBD values are modelled; recorded prevalence follows diagnostic access."),
 ("code", common_setup),
 ("code", """from geo_ms.config import load_config
from geo_ms import load_prevalence, load_regions
from geo_ms.exposures.compute import compute_exposures, exposure_specs

cfg = load_config()
regions = load_regions(cfg["regions"])
# the exposures of `geo-ms run`: same function, same configuration
expo = compute_exposures(regions, exposure_specs(cfg["exposures"]), cfg["exposures"])
prev = load_prevalence(cfg["prevalence"])
cols = ["region_id", "iso3", "name", "continent", "abs_latitude", "gdp_per_capita",
        "label_x", "label_y", "income_grp"]
table = (regions[cols].rename(columns={"label_x": "lon", "label_y": "lat"})
         .merge(expo.reset_index(), on="region_id").merge(prev, on="region_id", how="left"))
print(table["prevalence_per_100k"].notna().sum(), "countries with prevalence")"""),
 ("code", """from geo_ms.models import correlations, regressions

corr = correlations(table, ["cloud_cover_pct", "uv_index"], n_boot=500)
corr[["model", "exposure", "n", "estimate", "ci_low", "ci_high", "p_value"]].round(3)"""),
 ("code", """reg = regressions(table, "cloud_cover_pct")
reg[["model", "n", "estimate", "ci_low", "ci_high", "p_value", "std_estimate"]].round(4)"""),
 ("code", """from geo_ms.models import claims_table, fit_all

models = fit_all(table, {"n_boot": 500, "seed": 20161, "knn": 6, "min_subset": 15},
                 exposures=["cloud_cover_pct", "uv_index"])
claims = claims_table(models, table, cloud_exposure="cloud_cover_pct", uv_exposure="uv_index")
claims[["claim_id", "claim", "estimate", "ci_low", "ci_high", "n", "verdict"]]"""),
 ("code", """import numpy as np
ax = table.plot.scatter("cloud_cover_pct", "prevalence_per_100k", logy=True, figsize=(6, 4), s=12)
ax.set_ylabel("MS prevalence per 100,000 (log scale)")
ax.set_title("GBD 2016 MS prevalence vs CRU cloud cover (countries)")"""),
])

for name, n in [("01-data-tour", n1), ("02-exposures", n2), ("03-claims", n3)]:
    nbf.write(n, f"notebooks/{name}.ipynb")
