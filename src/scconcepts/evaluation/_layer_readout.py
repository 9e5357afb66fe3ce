"""The two cheap read-outs of one transformer layer: a linear probe beside its null, and a small SAE beside PCA.

- probe: cross-validated balanced accuracy of a logistic regression of the labels from the layer's pooled cell
  states (:func:`~scconcepts.sae._metrics.informativeness`), and the same probe on the labels permuted (mean of 3
  seeded permutations);
- variance explained: held-out R^2 of a small Top-K SAE trained on a sample of the layer's gene-token states,
  beside the R^2 of PCA with as many components as the SAE's ``k``, both on the tokens of held-out cells.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from scconcepts.evaluation._baselines import fit_baseline
from scconcepts.evaluation._fidelity import r2
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._metrics import informativeness, reconstruction_metrics
from scconcepts.sae._train import Split, train

logger = logging.getLogger(__name__)

#: Seed offset of the label permutation of the null probe (apart from the folds' seed).
_NULL_SALT = 7919
#: Label permutations the null probe averages.
NULL_PERMUTATIONS = 3
#: A layer whose token states vary by less than this share of their largest value in every dimension is flat.
FLAT = 1e-4


def probe_with_null(
    features: np.ndarray, labels: np.ndarray, *, folds: int = 3, seed: int = 0, permutations: int = NULL_PERMUTATIONS
) -> dict[str, float]:
    """``probe`` (mean balanced accuracy over folds), ``probe_sd`` and ``probe_null``.

    The null is the same probe on the labels permuted, averaged over ``permutations`` seeded permutations (one
    permutation of a few hundred cells scatters by several points of balanced accuracy).
    """
    labels = np.asarray(labels).astype(str)
    mean, sd = informativeness(features, labels, folds=folds, seed=seed)
    rng = np.random.default_rng(seed + _NULL_SALT)
    nulls = [informativeness(features, rng.permutation(labels), folds=folds, seed=seed)[0] for _ in range(permutations)]
    return {"probe": mean, "probe_sd": sd, "probe_null": float(np.mean(nulls))}


@dataclass
class SmallSAE:
    """Settings of the small SAE of the read-out."""

    k: int = 8
    expansion: int = 2
    epochs: int = 20
    seed: int = 0
    device: str = "cpu"


def token_variance_explained(states: np.ndarray, cells: np.ndarray, split: Split, sae: SmallSAE) -> dict[str, float]:
    """Held-out R^2 of a small SAE and of PCA with ``k`` components on one layer's token sample.

    Parameters
    ----------
    states
        ``tokens x dim`` token states.
    cells
        Each token's cell.
    split
        Cells (not tokens) to train on, to stop early on and to measure on: a cell's tokens stay together.
    sae
        The SAE's settings.

    Returns
    -------
    ``sae_r2``, ``pca_r2`` (NaN when the layer's states do not vary) and ``n_tokens`` (the held-out tokens).

    """
    parts = (split.train, split.val, split.test)
    train_rows, val_rows, test_rows = (np.flatnonzero(np.isin(cells, part)) for part in parts)
    result = {"sae_r2": float("nan"), "pca_r2": float("nan"), "n_tokens": len(test_rows)}
    if min(len(train_rows), len(val_rows), len(test_rows)) == 0:
        logger.warning("too few tokens to split by cell (%d train, %d validation, %d test); no R^2",
                       len(train_rows), len(val_rows), len(test_rows))  # fmt: skip
        return result
    spread = float(states[train_rows].std(axis=0).max())
    if spread <= FLAT * float(np.abs(states[train_rows]).max()):
        logger.warning("the token states do not vary across tokens; no R^2")
        return result
    config = SAEConfig(k=sae.k, expansion=sae.expansion, epochs=sae.epochs, seed=sae.seed, device=sae.device)
    trained = train(states, config, split=Split(train_rows, val_rows, test_rows))
    result["sae_r2"] = reconstruction_metrics(trained.sae, states, test_rows, both_inferences=False)["r2"]
    pca = fit_baseline("pca", states, train_rows, n_concepts=sae.k, k=sae.k, seed=sae.seed)
    result["pca_r2"] = r2(states[test_rows], pca.reconstruction[test_rows])
    return result
