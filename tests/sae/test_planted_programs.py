"""A program shared across cell types must get a concept of its own (issue 21; CI version of ``benchmarks programs``).

The embedding is additive by construction: each cell is its type's centre, plus a shared program direction
in a random half of the cells of every type, plus isotropic noise. A concept model that represents "type +
state" as two concepts has a concept marking the program in every type (AUROC >= 0.95) beside concepts
marking each type (AUROC >= 0.85). A linear read-out of the same embedding does both (asserted first, so a
failure below is the concepts', not the data's).

KNOWN FAILURE (issue 21): the consensus defaults of issue 12 (atoms learnt one per cell from k-means
directions) learn type-and-state combinations instead: measured on this data, the shared program's best
concept reaches AUROC 0.890 and one type's 0.698. Both concept tests are marked ``xfail(strict=True)``
until the issue-21 regime replaces those defaults; then they XPASS, which fails the run: remove the marks
(``KNOWN_FAILURE``) at that point so that the tests guard the new defaults.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

from scconcepts import tl

N_TYPES, CELLS_PER_TYPE, DIM = 5, 400, 10
SHARED_MIN, TYPE_MIN = 0.95, 0.85
#: Remove once the issue-21 regime is the default (the tests then pass, and a strict xfail fails the run).
KNOWN_FAILURE = pytest.mark.xfail(strict=True, reason="issue 21: today's SAE defaults learn type-and-state mixtures")


def typed_program_cells(seed: int = 0) -> AnnData:
    """Cells of 5 types in a 10-d embedding; a random half of every type carries one shared program direction."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(N_TYPES, DIM))
    program = rng.normal(size=DIM)
    program /= np.linalg.norm(program)
    types = np.repeat(np.arange(N_TYPES), CELLS_PER_TYPE)
    planted = np.zeros(len(types), dtype=bool)
    for t in range(N_TYPES):
        rows = np.flatnonzero(types == t)
        planted[rng.choice(rows, len(rows) // 2, replace=False)] = True
    strength = rng.uniform(2.0, 3.0, size=len(types)) * planted
    embedding = centres[types] + strength[:, None] * program + rng.normal(scale=0.5, size=(len(types), DIM)) + 10.0
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


def test_the_embedding_carries_the_program_linearly():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    adata = typed_program_cells()
    target = adata.obs["planted"].to_numpy()
    scores = cross_val_predict(LogisticRegression(), adata.obsm["X_emb"], target, cv=5, method="decision_function")

    assert roc_auc_score(target, scores) >= 0.99


@KNOWN_FAILURE
def test_shared_program_has_its_own_concept(trained):
    auroc = best_concept_auroc(trained.obsm["X_concepts"], trained.obs["planted"].to_numpy())
    assert auroc >= SHARED_MIN, f"best concept marks the shared program at AUROC {auroc:.3f} < {SHARED_MIN}"


@KNOWN_FAILURE
def test_every_type_keeps_a_concept(trained):
    labels = trained.obs["cell_type"].astype(str).to_numpy()
    aurocs = {t: best_concept_auroc(trained.obsm["X_concepts"], labels == t) for t in np.unique(labels)}
    assert min(aurocs.values()) >= TYPE_MIN, f"types' best concept AUROCs: {aurocs}"
