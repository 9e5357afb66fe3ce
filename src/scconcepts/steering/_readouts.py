"""Read-outs of a steering toward a target: kNN landing, a held-out classifier, and the target's DE genes.

Each read-out takes steered embeddings of the source cells and says how target-like they became:

* :func:`knn_landing`: share of steered cells whose ``k`` nearest *unsteered* cells (the cell itself excluded)
  are mostly (more than half) target cells;
* :class:`HeldOutClassifier`: a logistic regression on the real cells' embeddings, cross-fitted in two folds,
  so that each steered cell is classified by the model that did not see that cell; share predicted as target;
* :func:`reference_de` and :func:`right_way`: the target's top DE genes against the source in the real counts,
  and how many of them the decoded expression moves beyond the random-direction null, in the same direction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from scconcepts.steering._landing import Neighbourhood

#: Share of a steered cell's neighbours that must be target cells for it to count as landed.
MAJORITY = 0.5
#: Top DE genes of the target against the source taken as the reference.
N_DE = 20


def knn_landing(hood: Neighbourhood, steered: np.ndarray, rows: np.ndarray, is_target: np.ndarray) -> float:
    """Share of steered cells (rows ``rows``) whose neighbours among the unsteered cells are mostly target cells."""
    if len(rows) == 0:
        return float("nan")
    neighbours = hood.query(steered, rows)
    return float((is_target[neighbours].mean(axis=1) > MAJORITY).mean())


class HeldOutClassifier:
    """Cell-type classifier on the real embeddings, cross-fitted in two folds (seeded).

    Parameters
    ----------
    embedding
        Every cell's (unsteered) embedding.
    labels
        Every cell's type.
    seed
        Seed of the fold split.

    """

    def __init__(self, embedding: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        labels = np.asarray(labels).astype(str)
        self.fold = np.random.default_rng(seed).integers(0, 2, len(labels))
        self.models = []
        for fold in (0, 1):
            train = self.fold != fold
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            self.models.append(model.fit(np.asarray(embedding, dtype=np.float64)[train], labels[train]))

    def predict(self, points: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Types predicted for ``points`` (moved copies of cells ``rows``) by the fold that did not train on them."""
        out = np.empty(len(rows), dtype=object)
        for fold, model in enumerate(self.models):
            mine = self.fold[rows] == fold
            if mine.any():
                out[mine] = model.predict(np.asarray(points, dtype=np.float64)[mine])
        return out.astype(str)

    def share(self, points: np.ndarray, rows: np.ndarray, target: str) -> float:
        """Share of ``points`` predicted as ``target``."""
        return float((self.predict(points, rows) == target).mean()) if len(rows) else float("nan")


def _log_normalised(adata: AnnData, genes: list[str]) -> np.ndarray:
    x = adata[:, genes].X
    total = np.asarray(adata.X.sum(axis=1)).ravel()
    x = x.toarray() if sparse.issparse(x) else np.asarray(x)
    return np.log1p(x / np.clip(total, 1e-12, None)[:, None] * 1e4)


def reference_de(
    adata: AnnData, source: np.ndarray, target: np.ndarray, genes: list[str], n: int = N_DE
) -> pd.DataFrame:
    """The target's top ``n`` DE genes against the source among ``genes`` (Welch t on log1p counts per 10^4).

    Ranked by ``|t|``; ``lfc`` is the difference of mean log1p-normalised expression (target minus source,
    natural log). Genes absent from ``adata`` are skipped.
    """
    present = [g for g in genes if g in adata.var_names]
    x_source = _log_normalised(adata[source], present)
    x_target = _log_normalised(adata[target], present)
    with np.errstate(divide="ignore", invalid="ignore"):
        t, _ = stats.ttest_ind(x_target, x_source, equal_var=False, axis=0)
    t = np.nan_to_num(t)
    frame = pd.DataFrame({"gene": present, "de_lfc": x_target.mean(0) - x_source.mean(0), "de_t": t})
    frame = frame.reindex(np.argsort(-np.abs(t), kind="stable")).head(n).reset_index(drop=True)
    frame.insert(1, "de_rank", np.arange(1, len(frame) + 1))
    return frame


def right_way(reference: pd.DataFrame, genes: pd.DataFrame) -> tuple[int, int]:
    """How many reference DE genes move the right way: ``(beyond the null and same sign, same sign only)``.

    ``genes`` is a steering gene table (``gene``, ``lfc``, ``beyond_null``).
    """
    moved = genes.set_index("gene").reindex(reference["gene"])
    same = np.sign(moved["lfc"].to_numpy(dtype=np.float64)) == np.sign(reference["de_lfc"].to_numpy())
    beyond = moved["beyond_null"].fillna(False).to_numpy(dtype=bool)
    return int((same & beyond).sum()), int(same.sum())
