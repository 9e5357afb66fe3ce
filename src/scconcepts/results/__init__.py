"""The results folder that the command line writes: layout, whole commits, locks and reading back."""

from scconcepts.results._concepts import CONCEPTS_CSV, write_concepts_csv
from scconcepts.results._folder import (
    ANNOTATIONS_JSON,
    EVALUATION_JSON,
    MANIFEST,
    METRICS_JSON,
    MODEL_DIR,
    RESULTS_H5AD,
    SAE_DIR,
    add_to_results,
    atomic_write_text,
    check_path,
    dictionary_id,
    future_state,
    is_results_folder,
    new_results_folder,
    read_manifest,
    reading,
    update_results_folder,
)
from scconcepts.results._io import open_results_h5ad, read_metrics, read_results, update_results

__all__ = [
    "ANNOTATIONS_JSON",
    "CONCEPTS_CSV",
    "EVALUATION_JSON",
    "MANIFEST",
    "METRICS_JSON",
    "MODEL_DIR",
    "RESULTS_H5AD",
    "SAE_DIR",
    "add_to_results",
    "atomic_write_text",
    "check_path",
    "dictionary_id",
    "future_state",
    "is_results_folder",
    "new_results_folder",
    "open_results_h5ad",
    "read_manifest",
    "read_metrics",
    "read_results",
    "reading",
    "update_results",
    "update_results_folder",
    "write_concepts_csv",
]
