"""Consensus concepts: train several seeds, keep the decoder atoms that recur, refit the SAE on them.

The runs share one train / validation / test split and differ in initialisation and shuffling. Their alive
atoms (unit decoder rows) are pooled and clustered (average linkage on cosine distance, cut at
``1 - threshold``, as cNMF clusters its replicate components). A cluster that holds atoms of at least
``min_share`` of the runs is a reproducible concept; its direction is the normalised median of its atoms.
Composite directions (a non-negative mix of two others, :func:`find_composites`) are dropped, and the final
SAE is refit with its decoder frozen to the kept directions (encoder and biases trained), so that the
reported concepts are exactly the directions that recurred.

Every final concept gets ``reproducibility`` (share of runs holding an atom within cosine ``threshold``
of it) and ``matched_cosine`` (mean over runs of the best cosine).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from scconcepts._errors import InputError
from scconcepts.sae._composite import find_composites
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._data import check_embedding
from scconcepts.sae._metrics import reconstruction_metrics
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._seed_run import SeedRun, train_seed
from scconcepts.sae._train import TrainingResult, split_rows, train
from scconcepts.sae._workers import train_seeds_on_workers

logger = logging.getLogger(__name__)

#: Atoms within this cosine count as the same concept.
THRESHOLD = 0.9
#: A concept must recur in at least this share of the runs to be kept.
MIN_SHARE = 0.6
#: Latents firing on fewer training cells than this share are dead and not pooled.
MIN_FIRE_RATE = 1e-3
#: Share of the full training budget spent refitting the encoder on the frozen consensus dictionary.
REFIT_SHARE = 0.25
#: Training cells (at most) and rounds of the alternating fit of the decoder bias under pursuit.
BIAS_CELLS = 20_000
BIAS_ITERATIONS = 20
MODES = ("drop", "flag")


@dataclass
class ConsensusResult:
    """The final SAE (trained on the shared split), its per-concept table and every seed's run.

    ``table`` is indexed like the final SAE's latents: ``reproducibility``, ``matched_cosine``,
    ``composite`` (bool), ``composite_of`` (``"a+b"`` or ``""``), ``reproducible`` (bool).
    ``summary`` holds the pooled-atom counts and the thresholds used.
    """

    training: TrainingResult
    table: pd.DataFrame
    runs: list[SeedRun]
    summary: dict[str, Any] = field(default_factory=dict)


def match_to_runs(atoms: np.ndarray, runs: list[SeedRun], *, threshold: float = THRESHOLD) -> pd.DataFrame:
    """For each atom: the best cosine to each run's alive atoms, summarised.

    Returns a frame with ``reproducibility`` (share of runs whose best cosine exceeds ``threshold``) and
    ``matched_cosine`` (mean over runs of the best cosine), one row per atom.
    """
    unit = _unit(atoms)
    best = np.stack([(unit @ _unit(_alive(run)).T).max(axis=1) for run in runs], axis=1)  # atoms x runs
    return pd.DataFrame({"reproducibility": (best > threshold).mean(axis=1), "matched_cosine": best.mean(axis=1)})


def check_matching(threshold: float, min_share: float) -> None:
    """Raise :class:`InputError` unless ``threshold`` is in (0, 1) and ``min_share`` in (0, 1]."""
    if not 0 < min_share <= 1 or not 0 < threshold < 1:
        raise InputError(f"min_share must be in (0, 1] and threshold in (0, 1); got {min_share}, {threshold}")


def _unit(atoms: np.ndarray) -> np.ndarray:
    atoms = np.asarray(atoms, dtype=np.float64)
    return atoms / np.clip(np.linalg.norm(atoms, axis=1, keepdims=True), 1e-12, None)


def _alive(run: SeedRun) -> np.ndarray:
    alive = run.fire_rate >= MIN_FIRE_RATE
    return run.decoder[alive] if alive.any() else run.decoder


def cluster_atoms(
    runs: list[SeedRun], *, threshold: float = THRESHOLD, min_share: float = MIN_SHARE
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Pool the runs' alive atoms, cluster them and return the reproducible directions.

    Returns
    -------
    ``(directions, shares, counts)``: unit directions of the clusters holding atoms of at least
    ``min_share`` of the runs (most reproducible first, then most frequent), the share of runs in each,
    and counts of pooled atoms and clusters.

    """
    from scipy.cluster.hierarchy import fcluster, linkage

    atoms, owners, rates = [], [], []
    for index, run in enumerate(runs):
        alive = run.fire_rate >= MIN_FIRE_RATE
        atoms.append(run.decoder[alive])
        owners.append(np.full(int(alive.sum()), index))
        rates.append(run.fire_rate[alive])
    pooled, owner, rate = _unit(np.concatenate(atoms)), np.concatenate(owners), np.concatenate(rates)
    if len(pooled) < 2:
        return np.empty((0, pooled.shape[1])), np.empty(0), {"pooled": len(pooled), "clusters": len(pooled)}
    labels = fcluster(linkage(pooled, method="average", metric="cosine"), t=1 - threshold, criterion="distance")
    directions, shares, frequency = [], [], []
    for label in np.unique(labels):
        members = labels == label
        share = len(np.unique(owner[members])) / len(runs)
        if share < min_share:
            continue
        directions.append(_unit(np.median(pooled[members], axis=0)[None])[0])
        shares.append(share)
        frequency.append(float(rate[members].mean()))
    order = np.lexsort((-np.asarray(frequency), -np.asarray(shares))) if shares else np.empty(0, dtype=int)
    counts = {"pooled": len(pooled), "clusters": len(np.unique(labels))}
    return np.asarray(directions).reshape(-1, pooled.shape[1])[order], np.asarray(shares)[order], counts


def _parts_name(pair: np.ndarray, n_final: int) -> str:
    """``"a+b"`` with concept ids, ``"r3"`` naming the third recurring direction (not itself a concept)."""
    if pair[0] < 0:
        return ""
    return "+".join(str(i) if i < n_final else f"r{i - n_final}" for i in pair)


def _run_all(
    data: Any, config: SAEConfig, seeds: list[int], split: Any, n_jobs: int, client: Any = None
) -> list[SeedRun]:
    """Train every seed: on ``client``'s Dask workers, in ``n_jobs`` processes of one thread each, or in turn."""
    if client is not None:
        return train_seeds_on_workers(data, config, seeds, split, client=client)
    if n_jobs <= 1 or len(seeds) == 1:
        return [train_seed(data, config, seed, split) for seed in seeds]
    array = np.asarray(data, dtype=np.float32)
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(seeds)), initializer=_one_thread) as pool:
        return list(pool.map(train_seed, *zip(*[(array, config, seed, split) for seed in seeds], strict=True)))


def _one_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def _refit(data: Any, config: SAEConfig, split: Any, directions: np.ndarray, runs: list[SeedRun]) -> TrainingResult:
    """Train encoder and biases of an SAE whose decoder is frozen to ``directions``."""
    d_in = directions.shape[1]
    full = config.resolved(d_in, len(split.train))
    k = min(full.k, len(directions))
    init = TopKSAE(d_in, len(directions), k, batch_topk=config.batch_topk, inference=full.inference)
    with torch.no_grad():
        init.W_dec.copy_(torch.as_tensor(directions, dtype=torch.float32))
        init.W_enc.copy_(torch.as_tensor(directions, dtype=torch.float32))
        init.b_dec.copy_(torch.as_tensor(np.mean([run.state["b_dec"] for run in runs], axis=0)))
    epochs = max(1, round(full.epochs * REFIT_SHARE))
    values = {**config.to_dict(), "k": k, "epochs": epochs, "patience": max(3, epochs // 5), "val_every": None}
    refit = SAEConfig.from_dict(values)
    result = train(data, refit, split=split, init=init, freeze_decoder=True)
    if result.sae.inference == "pursuit":
        fit_pursuit_bias(result.sae, data, split.train, split.val)
    return result


@torch.no_grad()
def fit_pursuit_bias(sae: TopKSAE, data: Any, rows: np.ndarray, val_rows: np.ndarray) -> None:
    """Fit the decoder bias of a frozen-dictionary SAE that encodes by pursuit, by alternating least squares.

    Under pursuit the encoder is unused, so the bias is the only free parameter left; gradient training picks
    cells' atoms with the encoder and does not optimise it for pursuit's choice. Alternating (pursuit codes for
    the bias, then the bias as the mean residual of the codes) lowers the squared error at every step. Up to
    ``BIAS_CELLS`` training rows are used; the fitted bias is kept only if it lowers the validation error.
    """
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(rows, min(len(rows), BIAS_CELLS), replace=False))
    raw = torch.as_tensor(np.asarray(data[sample], dtype=np.float32), device=sae.W_dec.device)
    x = sae.normalise(raw)
    before, start = reconstruction_metrics(sae, data, val_rows, both_inferences=False)["mse"], sae.b_dec.clone()
    for _ in range(BIAS_ITERATIONS):
        codes = sae.encode(raw)
        new = (x - codes @ sae.W_dec).mean(0)
        converged = float((new - sae.b_dec).norm()) < 1e-4
        sae.b_dec.copy_(new)
        if converged:
            break
    after = reconstruction_metrics(sae, data, val_rows, both_inferences=False)["mse"]
    if after >= before:
        sae.b_dec.copy_(start)
    logger.info("pursuit bias refit: validation MSE %.4f -> %.4f%s", before, after, "" if after < before else " (kept)")


def consensus_train(
    data: Any,
    config: SAEConfig | None = None,
    *,
    n_seeds: int = 5,
    threshold: float = THRESHOLD,
    min_share: float = MIN_SHARE,
    unreproducible: str = "drop",
    n_jobs: int = 1,
    atom_k: int | None = None,
    client: Any = None,
) -> ConsensusResult:
    """Train ``n_seeds`` SAEs (seeds ``config.seed`` onwards) and build consensus concepts from them.

    Parameters
    ----------
    data
        Cells x dims embedding.
    config
        SAE settings shared by every run; ``config.seed`` is the first seed and draws the shared split.
    n_seeds
        Runs to train (at least 2).
    threshold
        Cosine above which two atoms are the same concept (clustering cut and reproducibility).
    min_share
        Share of runs a concept must recur in to be kept.
    unreproducible
        ``"drop"``: the final dictionary holds only reproducible, non-composite directions (refit with the
        decoder frozen to them); ``"flag"``: the first seed's SAE is kept whole and each concept is flagged
        (``reproducible``, ``composite``). ``"drop"`` falls back to ``"flag"`` when nothing recurs.
    n_jobs
        Processes to train seeds in (one thread each); 1 trains them one after another.
    atom_k
        Active latents per cell while the seed runs learn their atoms; ``None`` uses ``config.k``. The final
        SAE (refit on the kept directions) encodes with ``config.k``. With ``atom_k=1`` each run's atoms are
        the directions of groups of cells (one atom per cell), which recur across seeds far more than atoms
        learnt with several active per cell; cells are then encoded as mixtures of ``config.k`` of them.
    client
        A ``dask.distributed`` client: each seed's run is a task on its workers (``n_jobs`` is then unused).
        The runs equal those of one process.

    """
    config = config or SAEConfig()
    n_cells, d_in = check_embedding(data)
    if n_seeds < 2:
        raise InputError(f"consensus needs at least 2 seeds, got {n_seeds}")
    if unreproducible not in MODES:
        raise InputError(f"unreproducible must be one of {', '.join(MODES)}, got {unreproducible!r}")
    check_matching(threshold, min_share)
    config.validate(d_in)
    atom_config = config if atom_k is None else SAEConfig.from_dict({**config.to_dict(), "k": atom_k})
    atom_config.validate(d_in)
    split = split_rows(n_cells, config.val_fraction, config.test_fraction, config.seed)
    seeds = [config.seed + i for i in range(n_seeds)]
    runs = _run_all(data, atom_config, seeds, split, n_jobs, client)
    directions, _, counts = cluster_atoms(runs, threshold=threshold, min_share=min_share)
    keep = ~find_composites(directions).composite
    summary: dict[str, Any] = {
        "n_seeds": n_seeds,
        "seeds": seeds,
        "threshold": threshold,
        "min_share": min_share,
        "unreproducible": unreproducible,
        "atom_k": int(runs[0].k),
        "seed_epochs": int(atom_config.resolved(d_in, len(split.train)).epochs),
        "seed_best_epoch": int(max(run.best_epoch for run in runs)),
        "atoms_pooled": counts["pooled"],
        "clusters": counts["clusters"],
        "reproducible_clusters": len(directions),
        "composite_dropped": int((~keep).sum()),
    }
    mode = unreproducible
    if mode == "drop" and not keep.any():
        logger.warning(
            "no concept recurs in %.0f%% of %d runs; keeping the first run, flagged", 100 * min_share, n_seeds
        )
        mode = "flag"
    if mode == "drop":
        training = _refit(data, config, split, directions[keep], runs)
    else:
        first = runs[0].to_sae()
        first.k = min(config.resolved(d_in, len(split.train)).k, first.n_latents)  # atom_k may differ from k
        training = TrainingResult(first, config.resolved(d_in, len(split.train)), split.train, split.val, split.test)
        training.best_epoch = runs[0].best_epoch
    summary["mode"] = mode
    final = training.sae.W_dec.detach().cpu().numpy()
    table = match_to_runs(final, runs if mode == "drop" else runs[1:], threshold=threshold)
    table["reproducible"] = table["reproducibility"] >= min_share
    # one run may lack clean atoms for a composite's parts: the recurring directions stand in for them
    flags = find_composites(final, parts=directions if mode == "flag" and len(directions) else None)
    table["composite"] = flags.composite
    table["composite_of"] = [_parts_name(pair, len(final)) for pair in flags.parts]
    table.index = pd.Index([str(i) for i in range(len(final))], name="concept")
    summary["n_concepts"] = len(final)
    summary["reproduced_share"] = float(table["reproducible"].mean()) if len(table) else float("nan")
    logger.info(
        "consensus of %d seeds: %d atoms pooled, %d clusters, %d recur in >= %.0f%% of runs, %d composite dropped; "
        "%d concepts, mean matched cosine %.3f",
        n_seeds,
        counts["pooled"],
        counts["clusters"],
        len(directions),
        100 * min_share,
        summary["composite_dropped"],
        len(final),
        float(table["matched_cosine"].mean()),
    )
    return ConsensusResult(training, table, runs, summary)
