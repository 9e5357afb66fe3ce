"""Geneformer as an :class:`~scconcepts.models.Encoder`: rank-value encoding and mean (or ``<cls>``) embeddings.

A cell's input is its expressed genes ranked by expression normalised by the cell's total (to 10,000) and
by each gene's median over the pretraining corpus, truncated to the model's input size; V2 dictionaries add
``<cls>`` first and ``<eos>`` last. The embedding is the mean over the gene tokens of one layer's states
(default: the second to last, as Geneformer's ``EmbExtractor``), or the ``<cls>`` state. Perturbations as
Geneformer's in-silico perturber defines them: a gene set to zero loses its token (deletion);
:meth:`GeneformerEncoder.overexpress` moves a gene's token to the front.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.models._geneformer_model import GeneformerCheckpoint, load_geneformer_checkpoint
from scconcepts.models._token_encoder import StateChunk, TokenEncoder, layer_name
from scconcepts.models._tokens import length_chunks, match_vocabulary

logger = logging.getLogger(__name__)

POOLINGS = ("mean", "cls")


@dataclass
class GeneformerTokens:
    """A padded batch of Geneformer inputs (``cells x length``)."""

    #: Token ids: ``<cls>``, genes by decreasing rank, ``<eos>``, then ``<pad>``.
    ids: torch.Tensor
    #: 1 at real tokens, 0 at padding.
    attention: torch.Tensor
    #: 1 at gene tokens (not special, not padding): the positions mean pooling averages.
    gene_positions: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        """Tokens per cell, special tokens included."""
        return self.attention.sum(1)

    def select(self, rows: np.ndarray) -> GeneformerTokens:
        """Return the cells ``rows``, trimmed to their longest sequence."""
        index = torch.as_tensor(rows, dtype=torch.long)
        width = max(int(self.lengths[index].max()), 1)
        return GeneformerTokens(
            self.ids[index, :width], self.attention[index, :width], self.gene_positions[index, :width]
        )


def rank_value_tokens(
    x: np.ndarray,
    gene_tokens: np.ndarray,
    medians: np.ndarray,
    *,
    input_size: int,
    pad_id: int,
    cls_id: int | None = None,
    eos_id: int | None = None,
    front: np.ndarray | None = None,
) -> GeneformerTokens:
    """Rank-value encode raw counts.

    Parameters
    ----------
    x
        Cells x genes raw counts.
    gene_tokens, medians
        Token id and median of each column.
    input_size
        Most tokens per cell, special tokens included.
    pad_id, cls_id, eos_id
        Special token ids (``cls_id``/``eos_id`` ``None`` for dictionaries without them).
    front
        Optional column per cell (-1: none) whose token goes first, whatever its value (overexpression).

    """
    x = np.asarray(x)
    n_cells = x.shape[0]
    rows, cols = np.nonzero(x > 0)
    raw = x[rows, cols].astype(np.float64)
    totals = np.bincount(rows, weights=raw, minlength=n_cells)
    score = raw * (1e4 / totals[rows]) / medians[cols]
    if front is not None:
        chosen = np.flatnonzero(front >= 0)
        rows = np.concatenate([rows, chosen])
        cols = np.concatenate([cols, front[chosen]])
        score = np.concatenate([score, np.full(len(chosen), np.inf)])
        # an overexpressed gene that was expressed keeps only its front copy
        order = np.lexsort((-score, cols, rows))
        first = np.ones(len(order), dtype=bool)
        first[1:] = (rows[order][1:] != rows[order][:-1]) | (cols[order][1:] != cols[order][:-1])
        keep = order[first]
        rows, cols, score = rows[keep], cols[keep], score[keep]
    # rank within each cell by decreasing score; ties keep the column order
    order = np.lexsort((cols, -score, rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n_cells + 1))
    rank = np.arange(len(rows)) - starts[rows]
    special = cls_id is not None and eos_id is not None
    limit = input_size - (2 if special else 0)
    kept = rank < limit
    rows, cols, rank = rows[kept], cols[kept], rank[kept]
    n_genes = np.minimum(np.diff(starts), limit)
    offset = 1 if special else 0
    width = int(n_genes.max(initial=0)) + 2 * offset
    width = max(width, 1)
    ids = np.full((n_cells, width), pad_id, dtype=np.int64)
    gene_positions = np.zeros((n_cells, width), dtype=bool)
    ids[rows, rank + offset] = np.asarray(gene_tokens, dtype=np.int64)[cols]
    gene_positions[rows, rank + offset] = True
    if special:
        ids[:, 0] = cls_id
        ids[np.arange(n_cells), n_genes + 1] = eos_id
    attention = np.arange(width)[None, :] < (n_genes + 2 * offset)[:, None]
    return GeneformerTokens(
        torch.from_numpy(ids), torch.from_numpy(attention.astype(np.int64)), torch.from_numpy(gene_positions)
    )


class GeneformerEncoder(TokenEncoder):
    """Cell embeddings from a Geneformer checkpoint.

    Parameters
    ----------
    checkpoint
        The loaded checkpoint (already cut at the layer to read).
    genes
        Data gene names the model reads, in input order.
    gene_tokens, medians
        Token id and median of each gene.
    pooling
        ``"mean"`` over gene tokens (Geneformer's cell embedding) or ``"cls"`` (V2 dictionaries only).
    layer
        Layer whose pooled output is the embedding: ``layer_0`` (input embedding) ... ``layer_<n>``; default
        the layer the checkpoint was cut at (Geneformer's ``emb_layer``, -1: ``layer_<n-1>``).

    """

    name = "geneformer"
    first_layer = 0

    def __init__(
        self,
        checkpoint: GeneformerCheckpoint,
        genes: list[str],
        gene_tokens: np.ndarray,
        medians: np.ndarray,
        *,
        pooling: str = "mean",
        layer: str | None = None,
    ) -> None:
        if pooling not in POOLINGS:
            raise InputError(f"unknown Geneformer pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        if pooling == "cls" and not checkpoint.special_tokens:
            raise InputError("this Geneformer token dictionary has no <cls> token; use pooling='mean'")
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self._genes = list(genes)
        self.gene_tokens = np.asarray(gene_tokens, dtype=np.int64)
        self.medians = np.asarray(medians, dtype=np.float64)
        self.pooling = pooling
        tokens = checkpoint.tokens
        special = checkpoint.special_tokens
        self._ids = {
            "pad_id": tokens["<pad>"],
            "cls_id": tokens["<cls>"] if special else None,
            "eos_id": tokens["<eos>"] if special else None,
        }
        self._default = layer_name(checkpoint.n_layers + checkpoint.layer)
        self.select_layer(layer)

    @property
    def n_transformer_layers(self) -> int:
        """Transformer layers of the full checkpoint."""
        return self.checkpoint.n_layers

    @property
    def default_layer(self) -> str:
        """The layer given by ``emb_layer`` when the checkpoint was loaded (Geneformer's default: second to last)."""
        return self._default

    def _use_layer(self, name: str) -> None:
        self.checkpoint.cut(int(name.rsplit("_", 1)[1]) - self.checkpoint.n_layers)

    def tokenize(self, x: torch.Tensor | np.ndarray, *, front: np.ndarray | None = None) -> GeneformerTokens:
        """Rank-value encode raw counts (cells x :attr:`genes`); ``front`` as in :func:`rank_value_tokens`."""
        x = self._counts(x)
        return rank_value_tokens(
            x, self.gene_tokens, self.medians, input_size=self.checkpoint.input_size, front=front, **self._ids
        )

    def cell_tokens(
        self, x: torch.Tensor | np.ndarray, context: torch.Tensor | np.ndarray | None = None
    ) -> GeneformerTokens:
        """:meth:`tokenize` (Geneformer's input has no per-cell context)."""
        return self.tokenize(x)

    def token_states(self, tokens: GeneformerTokens, *, first_only: bool = False) -> Iterator[StateChunk]:
        """BERT states at :attr:`layer`; cells of similar length share a forward pass (``first_only`` is not used)."""
        heads = int(self.model.config.num_attention_heads)
        cls_position = 0 if self.checkpoint.special_tokens else None
        for rows in length_chunks(tokens.lengths.numpy(), n_heads=heads):
            part = tokens.select(rows)
            ids = part.ids.to(self.device)
            states = self.model(input_ids=ids, attention_mask=part.attention.to(self.device)).last_hidden_state
            yield StateChunk(rows, states, ids, part.gene_positions.to(self.device), cls_position)

    def encode_tokens(self, tokens: GeneformerTokens) -> torch.Tensor:
        """Run BERT on a token batch and pool (:meth:`token_states`)."""
        outputs, order = [], []
        for chunk in self.token_states(tokens):
            outputs.append(self.pool(chunk))
            order.append(chunk.rows)
        index = torch.as_tensor(np.concatenate(order), device=self.device)
        pooled = torch.cat(outputs)
        result = torch.empty_like(pooled)
        result[index] = pooled
        return result

    def pool(self, chunk: StateChunk) -> torch.Tensor:
        """The mean of the gene tokens' states (or the ``<cls>`` state) of each cell of a pass."""
        if self.pooling == "cls":
            return chunk.states[:, 0, :]
        weights = chunk.genes.to(chunk.states.dtype).unsqueeze(-1)
        return (chunk.states * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def layer_output(self, number: int) -> torch.nn.Module:
        """BERT's embeddings for ``layer_0``, else its layer ``number - 1`` (kept when the model is cut shorter)."""
        if number == 0:
            return self.model.embeddings
        layers = self.checkpoint.all_layers if self.checkpoint.all_layers is not None else self.model.encoder.layer
        return layers[number - 1]

    def encode(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Embed raw counts (cells x :attr:`genes`); ``context`` is not used."""
        return self.encode_tokens(self.tokenize(x))

    def overexpress(self, x: torch.Tensor | np.ndarray, genes: np.ndarray | list[int]) -> torch.Tensor:
        """Embed cells with one gene per cell overexpressed as Geneformer's perturber does: token moved first.

        Parameters
        ----------
        x
            Cells x :attr:`genes` raw counts.
        genes
            Column (index into :attr:`genes`) to overexpress in each cell; the token is inserted at the front
            when the gene is not expressed, and the last ranked gene drops if the cell is then too long.

        """
        front = np.asarray(genes, dtype=np.int64).reshape(-1)
        if front.size != np.shape(x)[0]:
            raise InputError(f"overexpress needs one gene per cell; got {front.size} for {np.shape(x)[0]} cells")
        if (front >= len(self._genes)).any():
            raise InputError(f"gene index out of range (the model reads {len(self._genes)} genes)")
        return self.encode_tokens(self.tokenize(x, front=front))

    def save(self, path: str | Path) -> None:
        """Write ``path/encoder.json``: a reference to the checkpoint and its dictionaries, and the options."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        info = {
            "model": "geneformer",
            "checkpoint": str(self.checkpoint.path),
            "emb_layer": int(self._default.rsplit("_", 1)[1]) - self.checkpoint.n_layers,
            "layer": self.layer,
            "pooling": self.pooling,
            **self.checkpoint.files,
            "genes": self._genes,
        }
        (path / "encoder.json").write_text(json.dumps(info, indent=2))


def _encoder(
    checkpoint: GeneformerCheckpoint, genes: list[str], tokens: np.ndarray, pooling: str, layer: str | None = None
) -> GeneformerEncoder:
    by_token = {v: k for k, v in checkpoint.tokens.items()}
    medians = np.asarray([checkpoint.medians[by_token[int(t)]] for t in tokens], dtype=np.float64)
    if not (medians > 0).all():
        raise InputError("Geneformer gene medians must be positive; the gene median dictionary is damaged")
    return GeneformerEncoder(checkpoint, genes, tokens, medians, pooling=pooling, layer=layer)


def build_geneformer(
    adata: AnnData,
    *,
    checkpoint: str | Path | None = None,
    emb_layer: int = -1,
    layer: str | None = None,
    pooling: str = "mean",
    token_dictionary: str | Path | None = None,
    gene_median: str | Path | None = None,
    gene_name_id: str | Path | None = None,
    device: str = "cpu",
    min_fraction: float = 0.25,
    **options: object,
) -> GeneformerEncoder:
    """Load a Geneformer checkpoint and match its token dictionary to ``adata``'s genes.

    Genes are matched by Ensembl ID (``var_names``) or, through the gene name -> ID dictionary, by name.

    Parameters
    ----------
    adata
        Data to embed.
    checkpoint
        Hugging Face BERT folder holding (or beside the paths given for) Geneformer's dictionaries.
    emb_layer
        Layer to read, named and counted as Geneformer's ``emb_layer`` (-1: second to last, the default; 0: last).
    layer
        Layer to read by name, ``layer_0`` (input embedding) ... ``layer_<n>``; overrides ``emb_layer``.
    pooling
        ``"mean"`` over gene tokens or ``"cls"``.
    token_dictionary, gene_median, gene_name_id
        Dictionary pickles, when they are not in the checkpoint folder.
    device
        Device to run the model on.
    min_fraction
        Smallest fraction of the data's genes that must be in the token dictionary.
    options
        Options of other models, ignored (logged).

    """
    if checkpoint is None:
        raise InputError(
            "the geneformer model loads a pretrained checkpoint; pass --checkpoint DIR (a Hugging "
            "Face BERT folder with Geneformer's token dictionary and gene medians)"
        )
    if options:
        logger.info("geneformer ignores options %s", ", ".join(sorted(options)))
    loaded = load_geneformer_checkpoint(
        checkpoint,
        layer=int(emb_layer),
        token_dictionary=token_dictionary,
        gene_median=gene_median,
        gene_name_id=gene_name_id,
        device=device,
    )
    vocab = {k: v for k, v in loaded.tokens.items() if k in loaded.medians}
    genes, tokens = match_vocabulary(adata, vocab, model="Geneformer", min_fraction=min_fraction, aliases=loaded.names)
    return _encoder(loaded, genes, tokens, pooling, layer)


def load_geneformer(path: str | Path) -> GeneformerEncoder:
    """Load an encoder saved by :meth:`GeneformerEncoder.save` (the checkpoint must still exist)."""
    info = json.loads((Path(path) / "encoder.json").read_text())
    loaded = load_geneformer_checkpoint(
        info["checkpoint"],
        layer=int(info["emb_layer"]),
        token_dictionary=info.get("token_dictionary"),
        gene_median=info.get("gene_median"),
        gene_name_id=info.get("gene_name_id"),
    )
    genes = [str(g) for g in info["genes"]]
    keys = [g if g in loaded.tokens else loaded.names.get(g, "") for g in genes]
    unknown = [g for g, k in zip(genes, keys, strict=True) if k not in loaded.tokens or k not in loaded.medians]
    if unknown:
        raise InputError(
            f"{len(unknown)} saved genes are not in the Geneformer dictionaries (e.g. {unknown[0]}); "
            "the checkpoint changed since the encoder was saved"
        )
    tokens = np.asarray([loaded.tokens[k] for k in keys], dtype=np.int64)
    return _encoder(loaded, genes, tokens, str(info["pooling"]), info.get("layer"))
