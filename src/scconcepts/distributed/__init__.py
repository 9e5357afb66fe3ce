"""Spreading work over Dask workers: a client from CLI options, and ordered maps over cell chunks."""

from scconcepts.distributed._chunks import cell_chunks, map_chunks
from scconcepts.distributed._client import dask_client

__all__ = ["cell_chunks", "dask_client", "map_chunks"]
