"""Train an scGPT-shaped transformer here with scGPT's masked-value objective, saved as an official checkpoint.

Shared by the planted token test (``tests/tl/test_token_planted.py``) and ``benchmarks token_defaults``: a
transformer that has *learnt* the planted programs, in the checkpoint format ``build_scgpt`` reads.
"""

from __future__ import annotations

from pathlib import Path

import torch
from anndata import AnnData

from scconcepts.models._scgpt import build_scgpt
from scconcepts.models._scgpt_model import ScgptTransformer


def save_scgpt_weights(model: ScgptTransformer, folder: Path) -> None:
    """Write ``best_model.pt`` with the official key names (``self_attn.Wqkv``)."""
    state = {k.replace("self_attn.in_proj_", "self_attn.Wqkv."): v for k, v in model.state_dict().items()}
    torch.save(state, folder / "best_model.pt")


def train_masked_values(
    model: ScgptTransformer, adata: AnnData, folder: Path, *, d_model: int, steps: int, batch: int, lr: float, seed: int
) -> None:
    """Train ``model`` (and a small value head) on ``adata``'s counts, 30% of gene tokens masked, and save it.

    ``folder`` already holds ``vocab.json`` and ``args.json``; the untrained weights are saved first so that
    ``build_scgpt`` tokenises the cells as the checkpoint will, then the trained ones. The head is drawn from
    torch's global generator right after the caller seeded it and built ``model``; the batches from ``seed``.
    """
    head = torch.nn.Sequential(torch.nn.Linear(d_model, d_model), torch.nn.ReLU(), torch.nn.Linear(d_model, 1))
    save_scgpt_weights(model, folder)
    encoder = build_scgpt(adata, checkpoint=folder)
    tokens = encoder.tokenize(encoder.expression(adata).toarray(), encoder.context(adata))
    optimiser = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        part = tokens.select(torch.randint(0, adata.n_obs, (batch,), generator=generator).numpy())
        mask = (torch.rand(part.values.shape, generator=generator) < 0.3) & ~part.padding
        mask[:, 0] = False
        predicted = head(model(part.genes, part.values.masked_fill(mask, -1.0), part.padding)).squeeze(-1)
        loss = ((predicted - part.values / 50) ** 2)[mask].mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    save_scgpt_weights(model.eval(), folder)
