"""Wrap any ``torch.nn.Module`` that maps expression of known genes to embeddings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from anndata import AnnData
from torch import nn

from scconcepts._errors import InputError
from scconcepts.models._base import Encoder, LinearFirstLayer

#: Files of a saved :class:`TorchEncoder`: the pickled modules (``torch.save``) and the gene list.
MODULE_FILE, DECODER_FILE, GENES_FILE, INFO_FILE = "module.pt", "decoder.pt", "genes.txt", "encoder.json"


class TorchEncoder(Encoder):
    """An encoder from a user's PyTorch module.

    Parameters
    ----------
    module
        Maps a float tensor (cells x ``len(genes)``, values as stored in the AnnData) to embeddings.
    genes
        Gene names the module reads, in its input order.
    name
        Stem of the ``obsm`` key the embedding is stored under (``X_<name>``).
    device
        Device to run the module on.
    decoder
        Optional generative side: a module mapping embeddings back to expression of ``genes`` (what
        :func:`scconcepts.tl.steer` decodes a steered concept through).

    """

    def __init__(
        self,
        module: nn.Module,
        genes: Sequence[str],
        *,
        name: str = "torch",
        device: str = "cpu",
        decoder: nn.Module | None = None,
    ) -> None:
        genes = [str(g) for g in genes]
        if not genes:
            raise InputError("TorchEncoder needs at least one gene name")
        if len(set(genes)) != len(genes):
            raise InputError("TorchEncoder gene names must be unique")
        self.module = module.to(device).eval()
        self._genes = genes
        self._device = torch.device(device)
        self.name = name
        self.decoder = None if decoder is None else decoder.to(device).eval()
        self.decodes_to = None if decoder is None else "expression (the module's decoder)"

    @property
    def genes(self) -> list[str]:
        """Names of the genes the module reads, in input order."""
        return self._genes

    @property
    def device(self) -> torch.device:
        """Device on which the module runs."""
        return self._device

    def to(self, device: str | torch.device) -> TorchEncoder:
        """Move the module (and decoder) to ``device``."""
        self._device = torch.device(device)
        self.module.to(self._device)
        if self.decoder is not None:
            self.decoder.to(self._device)
        return self

    def encode(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Run the module on an expression batch (``context`` is ignored)."""
        return self.module(x)

    @torch.no_grad()
    def decode_expression(self, embedding: np.ndarray, adata: AnnData, *, batch_size: int = 1024) -> np.ndarray:
        """Run the decoder module on the embeddings (``adata`` is not used); InputError without a decoder."""
        if self.decoder is None:
            return super().decode_expression(embedding, adata, batch_size=batch_size)
        out = []
        for start in range(0, embedding.shape[0], batch_size):
            batch = torch.as_tensor(np.asarray(embedding[start : start + batch_size], dtype=np.float32))
            out.append(self.decoder(batch.to(self._device)).float().cpu().numpy())
        decoded = np.concatenate(out) if out else np.zeros((0, len(self._genes)), dtype=np.float32)
        if decoded.shape[1] != len(self._genes):
            raise InputError(
                f"the decoder returns {decoded.shape[1]} values per cell; the encoder reads {len(self._genes)} genes"
            )
        return decoded

    def linear_first_layer(self) -> LinearFirstLayer | None:
        """Split an ``nn.Sequential`` whose first layer is ``nn.Linear``; ``None`` for other modules."""
        if not isinstance(self.module, nn.Sequential) or not isinstance(self.module[0], nn.Linear):
            return None
        first, rest = self.module[0], self.module[1:]
        return LinearFirstLayer(
            transform=lambda x: x,
            weight=first.weight.detach(),
            pre_activation=lambda x, context: first(x),
            rest=lambda pre, context: rest(pre),
        )

    def save(self, path: str | Path) -> None:
        """Save the module (``torch.save`` of the whole module, on the CPU), its genes and ``encoder.json``.

        :func:`load_torch` (and ``scconcepts run --model torch --checkpoint DIR``) reads the folder back. The
        module is pickled: its class must be importable where it is loaded (every ``torch.nn`` layer is), and
        a folder should only be loaded from a source one trusts, as with any pickle.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(_on_cpu(self.module), path / MODULE_FILE)
        if self.decoder is not None:
            torch.save(_on_cpu(self.decoder), path / DECODER_FILE)
        (path / GENES_FILE).write_text("\n".join(self._genes) + "\n")
        info = {"model": "torch", "name": self.name, "genes": len(self._genes), "layer": self.layer,
                "decoder": self.decoder is not None}  # fmt: skip
        (path / INFO_FILE).write_text(json.dumps(info, indent=2))


def _on_cpu(module: nn.Module) -> nn.Module:
    """The module itself when it is on the CPU, else a CPU copy (the saved file loads on any machine)."""
    if all(p.device.type == "cpu" for p in module.parameters()):
        return module
    import copy

    return copy.deepcopy(module).cpu()


def load_torch(path: str | Path, *, device: str = "cpu") -> TorchEncoder:
    """Load a :class:`TorchEncoder` saved by :meth:`TorchEncoder.save`."""
    path = Path(path)
    if not (path / MODULE_FILE).is_file() or not (path / GENES_FILE).is_file():
        raise InputError(
            f"{path} is not a saved TorchEncoder (it needs {MODULE_FILE} and {GENES_FILE}); "
            "write one with TorchEncoder(module, genes).save(DIR)"
        )
    info = json.loads((path / INFO_FILE).read_text()) if (path / INFO_FILE).is_file() else {}
    genes = [line for line in (path / GENES_FILE).read_text().splitlines() if line]
    module = torch.load(path / MODULE_FILE, map_location="cpu", weights_only=False)
    decoder = None
    if (path / DECODER_FILE).is_file():
        decoder = torch.load(path / DECODER_FILE, map_location="cpu", weights_only=False)
    if not isinstance(module, nn.Module):
        raise InputError(f"{path / MODULE_FILE} holds a {type(module).__name__}, not a torch module")
    return TorchEncoder(module, genes, name=str(info.get("name", "torch")), device=device, decoder=decoder)


def build_torch(adata: AnnData, *, checkpoint: str | Path | None = None, **options: Any) -> TorchEncoder:
    """The registry's builder: a :class:`TorchEncoder` is never trained here, only loaded from ``checkpoint``."""
    if checkpoint is None:
        raise InputError(
            "--model torch needs --checkpoint DIR, a folder written by TorchEncoder(module, genes).save(DIR)"
        )
    if options.get("layer") not in (None, "embedding"):
        raise InputError(f"a TorchEncoder returns its module's output (layer 'embedding'), not {options['layer']!r}")
    return load_torch(checkpoint)
