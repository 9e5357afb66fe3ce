"""Where downloaded datasets are kept: ``$SCCONCEPTS_CACHE`` or the user cache folder."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SCCONCEPTS_CACHE"


def cache_dir() -> Path:
    """Return (and create) the cache folder.

    ``$SCCONCEPTS_CACHE`` when set; otherwise the platform's user cache folder for ``scconcepts``
    (via platformdirs when installed, else ``$XDG_CACHE_HOME/scconcepts`` or ``~/.cache/scconcepts``).
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        folder = Path(configured).expanduser()
    else:
        try:
            from platformdirs import user_cache_dir

            folder = Path(user_cache_dir("scconcepts", appauthor=False))
        except ImportError:
            base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
            folder = Path(base) / "scconcepts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
