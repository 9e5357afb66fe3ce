"""AnnData-in / AnnData-out tools: embed, train_sae, attribute, enrich, evaluate."""

from scconcepts.tl._attribute import attribute
from scconcepts.tl._concept_table import concept_table
from scconcepts.tl._embed import embed
from scconcepts.tl._train_sae import train_sae

__all__ = ["attribute", "concept_table", "embed", "train_sae"]
