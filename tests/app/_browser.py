"""Launching Debian's headless Chromium through Playwright, and reading a canvas back as pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def launch(playwright):
    """Start headless Chromium (a fresh profile each time) or fail with what to install."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/install-browser.sh (make install)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)


def canvas_pixels(page, selector: str = "canvas.scatter") -> np.ndarray:
    """RGB pixels of an element, from a screenshot of it."""
    from PIL import Image

    png = page.locator(selector).screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def coloured_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels with a clear hue (the activation colour ramp), as opposed to white or grey."""
    return (rgb.max(axis=2) - rgb.min(axis=2)) > 60


def drawn_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels that are not the white background."""
    return rgb.min(axis=2) < 235
