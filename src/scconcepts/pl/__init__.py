"""Plots, scanpy-style (``adata`` first, ``ax``/``show``/``save``): one per ``tl`` result worth seeing.

``concepts`` (activations on a 2-D embedding), ``attribution`` (a concept's attribution vs DE),
``enrichment`` (dot plot of terms), ``concept_scores`` (reproducibility, explanation), ``evaluation``
(metrics per method with spread over seeds), ``sweep`` (k x expansion) and ``steering`` (genes a steered
concept moves, beside the null).
"""

from scconcepts.pl._attribution import attribution
from scconcepts.pl._concepts import concepts
from scconcepts.pl._enrichment import enrichment
from scconcepts.pl._evaluation import evaluation, sweep
from scconcepts.pl._scores import concept_scores
from scconcepts.pl._steering import steering

__all__ = ["attribution", "concept_scores", "concepts", "enrichment", "evaluation", "steering", "sweep"]
