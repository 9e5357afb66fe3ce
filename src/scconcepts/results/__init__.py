"""The results folder that the command line writes: layout, atomic writes and reading back."""

from scconcepts.results._folder import (
    EVALUATION_JSON,
    MANIFEST,
    METRICS_JSON,
    MODEL_DIR,
    RESULTS_H5AD,
    SAE_DIR,
    add_to_results,
    atomic_write_text,
    is_results_folder,
    new_results_folder,
    read_manifest,
)
from scconcepts.results._io import read_results, update_results

__all__ = [
    "EVALUATION_JSON",
    "MANIFEST",
    "METRICS_JSON",
    "MODEL_DIR",
    "RESULTS_H5AD",
    "SAE_DIR",
    "add_to_results",
    "atomic_write_text",
    "is_results_folder",
    "new_results_folder",
    "read_manifest",
    "read_results",
    "update_results",
]
