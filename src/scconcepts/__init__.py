"""scconcepts: find the biological concepts a single-cell model has learned, and explain them."""

__version__ = "0.1.0"

from scconcepts import ds, models, pl, sae, tl

__all__ = ["__version__", "ds", "models", "pl", "sae", "tl"]
