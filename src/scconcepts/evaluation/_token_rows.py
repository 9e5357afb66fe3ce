"""The rows a token run is evaluated on: a seeded sample of its gene tokens, split by cell, labelled by cell.

A token run's dictionary was learnt on gene-token states, so its evaluation fits every method (the SAE refits,
neurons, PCA, ICA, NMF, dictionary learning) on token states too: a seeded sample of at most ``MAX_TOKENS``
tokens of the run's store. A token is held out when its cell is one of the run's held-out cells, so no
held-out cell's token is seen in training; each token carries its cell's label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scconcepts._errors import InputError
from scconcepts.models._token_store import TokenStore

#: Most tokens an evaluation fits and measures on (every method, every seed).
MAX_TOKENS = 20_000


@dataclass
class TokenRows:
    """The sampled tokens: their states, each one's cell, and the training / held-out split."""

    #: ``tokens x dim`` float64 states.
    states: np.ndarray
    #: Each token's cell (row of the results' cells).
    cells: np.ndarray
    #: Rows of :attr:`states` to train on, and held-out rows.
    rows: tuple[np.ndarray, np.ndarray]


def token_rows(store: TokenStore, held_out_cells: np.ndarray, *, seed: int, max_tokens: int = MAX_TOKENS) -> TokenRows:
    """Sample at most ``max_tokens`` tokens of ``store`` (seeded, in store order) and split them by cell.

    Parameters
    ----------
    store
        The run's token store.
    held_out_cells
        Rows of the cells held out by the run.
    seed
        Seed of the sample.
    max_tokens
        Most tokens kept.

    """
    n = store.n_tokens
    picked = np.sort(np.random.default_rng(seed).choice(n, size=min(n, max_tokens), replace=False))
    cells = np.asarray(store.cells[picked], dtype=np.int64)
    held_out = np.isin(cells, held_out_cells)
    if held_out.all() or not held_out.any():
        raise InputError("the token sample has no training or no held-out token; the run has too few cells")
    states = np.asarray(store.states[picked], dtype=np.float64)
    return TokenRows(states, cells, (np.flatnonzero(~held_out), np.flatnonzero(held_out)))
