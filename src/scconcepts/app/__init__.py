"""Web explorer of a results folder: catalogue, concept/neuron/gene/cell-type pages and expert annotation."""

from scconcepts.app._annotations import ANNOTATIONS_JSON, Annotation, AnnotationsError, AnnotationStore
from scconcepts.app._data import ConceptResults
from scconcepts.app._server import RunningServer, create_app, serve, start_server

__all__ = [
    "ANNOTATIONS_JSON",
    "Annotation",
    "AnnotationStore",
    "AnnotationsError",
    "ConceptResults",
    "RunningServer",
    "create_app",
    "serve",
    "start_server",
]
