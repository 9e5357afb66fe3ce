"""Plots: ``evaluation`` (metrics per method with spread over seeds) and ``sweep`` (k x expansion)."""

from scconcepts.pl._evaluation import evaluation, sweep

__all__ = ["evaluation", "sweep"]
