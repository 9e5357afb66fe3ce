"""The 2-D map of all cells as a small PNG: grey density of every cell, the active cells coloured on top."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib import colormaps
from matplotlib.image import imsave

SIZE = 200


class MapRaster:
    """Bin the map once, then paint any concept's activations in milliseconds.

    Parameters
    ----------
    umap
        Cells x 2 coordinates.
    size
        Width and height of the image in pixels.

    """

    def __init__(self, umap: np.ndarray, size: int = SIZE) -> None:
        lo, hi = umap.min(axis=0), umap.max(axis=0)
        span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-9)) * 1.04
        centre = (lo + hi) / 2
        pix = ((umap - centre) / span + 0.5) * (size - 1)
        self.px = np.clip(np.round(pix[:, 0]), 0, size - 1).astype(np.int64)
        self.py = np.clip(np.round((size - 1) - pix[:, 1]), 0, size - 1).astype(np.int64)  # y grows upwards
        self.size = size
        density = np.zeros((size, size))
        np.add.at(density, (self.py, self.px), 1)
        self.occupied = density > 0
        self.cmap = colormaps["viridis"]

    def png(self, cells: np.ndarray, values: np.ndarray) -> bytes:
        """PNG bytes of the map with ``cells`` coloured by ``values`` (max per pixel)."""
        top = np.full((self.size, self.size), -np.inf)
        if cells.size:
            np.maximum.at(top, (self.py[cells], self.px[cells]), values.astype(np.float64))
        image = np.ones((self.size, self.size, 4))
        image[self.occupied, :3] = 0.82
        active = np.isfinite(top)
        if active.any():
            vmax = np.percentile(values, 99)  # a few extreme cells do not wash out the rest
            image[active] = self.cmap(np.clip(top[active] / (vmax if vmax > 0 else 1), 0, 1))
        buffer = io.BytesIO()
        imsave(buffer, image, format="png")
        return buffer.getvalue()

    def data_uri(self, cells: np.ndarray, values: np.ndarray) -> str:
        """The map as a ``data:image/png;base64,...`` URI for an ``<img>``."""
        return "data:image/png;base64," + base64.b64encode(self.png(cells, values)).decode("ascii")
