"""Datasets: bundled immune cells with integer counts, readers for users' files, atlas fetchers."""

from scconcepts.ds._pbmc68k import pbmc68k

__all__ = ["pbmc68k"]
