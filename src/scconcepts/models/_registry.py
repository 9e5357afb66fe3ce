"""Registry of model families: how to build or load an encoder from a name and options."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.models._base import Encoder

#: model name -> "module:function" building an encoder; ``function(adata, checkpoint=None, **options)``.
_BUILDERS: dict[str, str] = {
    "scvi": "scconcepts.models._scvi_train:build_scvi",
    "scgpt": "scconcepts.models._scgpt:build_scgpt",
    "geneformer": "scconcepts.models._geneformer:build_geneformer",
    "torch": "scconcepts.models._torch:build_torch",
}
#: model name -> "module:function" loading an encoder saved by :meth:`Encoder.save`.
_LOADERS: dict[str, str] = {
    "scvi": "scconcepts.models._scvi_train:load_scvi",
    "scgpt": "scconcepts.models._scgpt:load_scgpt",
    "geneformer": "scconcepts.models._geneformer:load_geneformer",
    "torch": "scconcepts.models._torch:load_torch",
}


def register_model(name: str, builder: str, loader: str) -> None:
    """Register a model family by the import paths (``"module:function"``) of its builder and loader."""
    _BUILDERS[name] = builder
    _LOADERS[name] = loader


def available_models() -> list[str]:
    """Names of the model families that :func:`scconcepts.tl.embed` accepts."""
    return sorted(_BUILDERS)


def _resolve(table: dict[str, str], name: str) -> Callable[..., Encoder]:
    if name not in table:
        raise InputError(f"unknown model {name!r}; choose one of {', '.join(sorted(table))}")
    module, function = table[name].split(":")
    return getattr(import_module(module), function)


def build_encoder(name: str, adata: AnnData, *, checkpoint: str | Path | None = None, **options: Any) -> Encoder:
    """Build (train or load from ``checkpoint``) the encoder of family ``name`` for ``adata``."""
    return _resolve(_BUILDERS, name)(adata, checkpoint=checkpoint, **options)


def load_encoder(path: str | Path) -> Encoder:
    """Load an encoder saved by :meth:`Encoder.save` (a results folder's ``model/``)."""
    path = Path(path)
    info = path / "encoder.json"
    if not info.is_file():
        raise InputError(f"{path} is not a saved scconcepts encoder (no encoder.json); rerun `scconcepts run`")
    import json

    name = json.loads(info.read_text())["model"]
    return _resolve(_LOADERS, name)(path)
