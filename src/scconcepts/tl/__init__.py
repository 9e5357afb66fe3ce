"""AnnData-in / AnnData-out tools: embed, train_sae, attribute, faithfulness, enrich, term_members, evaluate."""

from scconcepts.tl._apply import apply
from scconcepts.tl._attribute import attribute
from scconcepts.tl._check_genes import check_genes
from scconcepts.tl._concept_table import concept_table
from scconcepts.tl._concepts_to_obs import concepts_to_obs
from scconcepts.tl._embed import embed
from scconcepts.tl._enrich import enrich, enrichment_summary, enrichment_table
from scconcepts.tl._evaluate import evaluate
from scconcepts.tl._explanation import explanation_score
from scconcepts.tl._faithfulness import faithfulness
from scconcepts.tl._label import label_concepts
from scconcepts.tl._layer_readout import layer_readout
from scconcepts.tl._redundancy import profile_redundancy
from scconcepts.tl._steer import steer
from scconcepts.tl._term_members import term_members
from scconcepts.tl._token_activations import token_activations
from scconcepts.tl._token_sae import train_token_sae
from scconcepts.tl._train_sae import train_sae
from scconcepts.tl._use_sae import use_sae
from scconcepts.tl._use_token_sae import use_token_sae

__all__ = [
    "apply",
    "attribute",
    "check_genes",
    "concept_table",
    "concepts_to_obs",
    "embed",
    "enrich",
    "enrichment_summary",
    "enrichment_table",
    "evaluate",
    "explanation_score",
    "faithfulness",
    "label_concepts",
    "layer_readout",
    "profile_redundancy",
    "steer",
    "term_members",
    "token_activations",
    "train_sae",
    "train_token_sae",
    "use_sae",
    "use_token_sae",
]
