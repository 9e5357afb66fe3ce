"""A program shared across cell types must get a concept of its own (issue 21; CI version of ``benchmarks programs``).

The embedding is additive by construction: each cell is its type's centre, plus a shared program direction
in a random half of the cells of every type, plus isotropic noise. A concept model that represents "type +
state" as two concepts has a concept marking the program in every type (AUROC >= 0.95) beside concepts
marking each type (AUROC >= 0.85). A linear read-out of the same embedding does both (asserted first, so a
failure below is the concepts', not the data's).

The former consensus defaults of issue 12 (atoms learnt one per cell from k-means directions) learnt
type-and-state combinations instead: the shared program's best concept AUROC 0.572, the types' 0.678-0.713.
The programs regime (the default since issue 21) gives the program its own concept; its type concepts mark
the types at 0.80-0.90, short of 0.85 for all seven, so that test stays a strict known failure
(``KNOWN_FAILURE``): a regime that meets it XPASSes and fails the run, and the mark must then go.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

from scconcepts import tl

N_TYPES, CELLS_PER_TYPE, DIM = 7, 300, 10
#: The last types share a lineage direction and differ from each other less (like the sorted CD4 T cells).
LINEAGE = 3
SHARED_MIN, TYPE_MIN = 0.95, 0.85
#: The one target of issue 21 the programs regime does not meet here: its type concepts mark 6 of the 7 types at
#: 0.80-0.90 (one side of an independent component each, as the ICs of the embedding do), not all at 0.85. Strict:
#: when a regime meets it, the XPASS fails the run and this mark must go.
KNOWN_FAILURE = pytest.mark.xfail(
    strict=True, reason="issue 21: programs concepts mark types at 0.80-0.90, not all >= 0.85 (see the README)"
)


def typed_program_cells(seed: int = 0) -> AnnData:
    """Cells of 7 types in a 10-d embedding; a random half of every type carries one shared program direction.

    In an orthonormal basis (randomly rotated, so no neuron is one of its axes) each type has an axis of its
    own: a cell is 3 units along its type's axis (the lineage's three types: 2 units plus 3 along a lineage
    axis), plus, in a random half of every type, 2-3 units along a program axis, plus isotropic noise of
    s.d. 0.5 and a common offset. The centres are the vertices of a simplex and the program is orthogonal to
    them, so a linear read-out marks every type and the program (checked below).
    """
    rng = np.random.default_rng(seed)
    axes = np.linalg.qr(rng.normal(size=(DIM, DIM)))[0].T  # rows: orthonormal axes in random directions
    lineage_axis, program_axis = axes[N_TYPES], axes[N_TYPES + 1]
    centres = 3.0 * axes[:N_TYPES]
    centres[-LINEAGE:] = 2.0 * axes[N_TYPES - LINEAGE : N_TYPES] + 3.0 * lineage_axis
    types = np.repeat(np.arange(N_TYPES), CELLS_PER_TYPE)
    planted = np.zeros(len(types), dtype=bool)
    for t in range(N_TYPES):
        rows = np.flatnonzero(types == t)
        planted[rng.choice(rows, len(rows) // 2, replace=False)] = True
    strength = rng.uniform(2.0, 3.0, size=len(types)) * planted
    noise = rng.normal(scale=0.5, size=(len(types), DIM))
    embedding = centres[types] + strength[:, None] * program_axis + noise + 10.0
    obs = pd.DataFrame(
        {"cell_type": pd.Categorical([f"type{t}" for t in types]), "planted": planted},
        index=[f"cell{i}" for i in range(len(types))],
    )
    adata = AnnData(X=np.zeros((len(types), 1), dtype=np.float32), obs=obs)
    adata.obsm["X_emb"] = embedding.astype(np.float32)
    return adata


def best_concept_auroc(activations, target: np.ndarray) -> float:
    """The best concept's AUROC for ``target`` (activations as the score, one sign: concepts are non-negative)."""
    from sklearn.metrics import roc_auc_score

    dense = activations.toarray() if hasattr(activations, "toarray") else np.asarray(activations)
    return max(roc_auc_score(target, dense[:, j]) for j in range(dense.shape[1]))


@pytest.fixture(scope="module")
def trained():
    """The cells with concepts from ``tl.train_sae`` at its defaults (trained once for the module)."""
    adata = typed_program_cells()
    tl.train_sae(adata, use_rep="X_emb", labels_key="cell_type", device="cpu")
    return adata


def test_the_embedding_carries_program_and_types_linearly():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    adata = typed_program_cells()
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    targets = {"program": adata.obs["planted"].to_numpy(), **{t: labels == t for t in np.unique(labels)}}
    for name, target in targets.items():
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        scores = cross_val_predict(probe, adata.obsm["X_emb"], target, cv=5, method="decision_function")
        assert roc_auc_score(target, scores) >= 0.97, name  # measured 0.990-1.000


def test_shared_program_has_its_own_concept(trained):
    auroc = best_concept_auroc(trained.obsm["X_concepts"], trained.obs["planted"].to_numpy())
    assert auroc >= SHARED_MIN, f"best concept marks the shared program at AUROC {auroc:.3f} < {SHARED_MIN}"


@KNOWN_FAILURE
def test_every_type_keeps_a_concept(trained):
    labels = trained.obs["cell_type"].astype(str).to_numpy()
    aurocs = {t: best_concept_auroc(trained.obsm["X_concepts"], labels == t) for t in np.unique(labels)}
    assert min(aurocs.values()) >= TYPE_MIN, f"types' best concept AUROCs: {aurocs}"
