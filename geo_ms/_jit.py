"""``numba.njit`` as geo_ms compiles its inner loops: ``nogil``, cached on disk.

The compiled loops (:mod:`geo_ms.exposures.kernels`, :mod:`geo_ms.models.kernels`)
are compiled on their first call and cached next to their module (or in numba's user
cache directory); where no cache directory is writable they are compiled uncached.

>>> @jit
... def twice(x):
...     return 2 * x
>>> twice(21)
42
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba

__all__ = ["jit"]


def jit(fn: Callable[..., Any]) -> Any:
    """Compile *fn* with ``numba.njit(nogil=True, cache=True, boundscheck=False,
    error_model="numpy")`` (a float division by zero gives inf/NaN, as in NumPy).

    Without a writable cache directory numba refuses ``cache=True`` ("cannot cache
    function ...: no locator available"); the function is then compiled uncached.
    """
    try:
        return numba.njit(nogil=True, cache=True, boundscheck=False, error_model="numpy")(fn)
    except RuntimeError:
        return numba.njit(nogil=True, cache=False, boundscheck=False, error_model="numpy")(fn)
