"""numpy on first use: ``labtui ls`` on a warm flags cache never pays for importing it.

``_np``: False = not tried yet, None = unavailable (tests set None to force the pure-Python
paths), else the module.  Every fast path of the metrics package asks :func:`numpy`.
"""

from __future__ import annotations

from array import array
from typing import Any

_np: Any = False


def numpy():
    """The numpy module, or None when it cannot be imported (or a test switched it off)."""
    global _np
    if _np is False:
        try:
            import numpy as _numpy  # deferred: a heavy import that `labtui ls` rarely needs
            _np = _numpy
        except Exception:  # pragma: no cover - depends on the environment
            _np = None
    return _np


def as_np(y):
    """A float64 view (``array('d')``) or copy (lists, arrays, iterables) of ``y``."""
    np = _np
    if isinstance(y, array) and y.typecode == "d":
        return np.frombuffer(y, dtype=np.float64) if len(y) else np.zeros(0)
    return np.asarray(y if isinstance(y, (list, tuple)) or hasattr(y, "__array__") else list(y),
                      dtype=np.float64)
