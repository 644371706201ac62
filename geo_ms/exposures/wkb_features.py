"""Regions handed to exactextract as WKB, not as GeoJSON.

exactextract reads a GeoDataFrame through ``GeoPandasFeatureSource``: every polygon is
turned into a GeoJSON mapping (``__geo_interface__``), dumped to JSON text and parsed
back by GEOS — on the 1:10m countries that costs ten times the coverage computation
itself. :class:`WKBFeatureSource` hands exactextract the polygons' WKB instead (one
``shapely.to_wkb`` call for all regions), which GEOS reads directly. The coordinates
are the same doubles either way (JSON floats round-trip exactly), so the results are
the same, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import shapely
from exactextract.feature import Feature, FeatureSource

__all__ = ["WKBFeatureSource"]


class _WKBFeature(Feature):
    """One region: its WKB geometry and no attributes."""

    def __init__(self, wkb: bytes) -> None:
        Feature.__init__(self)
        self._wkb = wkb

    def geometry(self) -> bytes:
        return self._wkb

    def set_geometry_format(self) -> str:
        return "wkb"

    def fields(self) -> list[str]:
        return []

    def get(self, name: str) -> Any:
        raise KeyError(name)

    def set(self, name: str, value: Any) -> None:
        raise KeyError(name)


class WKBFeatureSource(FeatureSource):
    """An exactextract feature source over shapely polygons, read as WKB.

    Parameters
    ----------
    geometries
        Polygons (a GeoSeries or an array of shapely geometries), in the raster's CRS.
    srs_wkt
        Their CRS as WKT (exactextract warns when it differs from the raster's).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from exactextract import exact_extract
    >>> from exactextract.raster import NumPyRasterSource
    >>> src = NumPyRasterSource(np.array([[1.0, 2.0], [3.0, 4.0]]), 0, 0, 2, 2)
    >>> feats = WKBFeatureSource([shapely.box(0, 0, 1, 2), shapely.box(0, 0, 2, 2)])
    >>> exact_extract(src, feats, ["mean"], output="pandas")["mean"].tolist()
    [2.0, 2.5]
    """

    def __init__(self, geometries: Any, srs_wkt: str | None = None) -> None:
        super().__init__()
        self._wkb = shapely.to_wkb(np.asarray(geometries, dtype=object))
        self._srs_wkt = srs_wkt

    def count(self) -> int:
        return len(self._wkb)

    def __iter__(self) -> Iterator[_WKBFeature]:
        for wkb in self._wkb:
            yield _WKBFeature(wkb)

    def srs_wkt(self) -> str | None:
        return self._srs_wkt
