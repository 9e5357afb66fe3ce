"""Options shared by subcommands: where the cells come from and which model embeds them."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, Any

from scconcepts._errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from anndata import AnnData

    from scconcepts.models import Encoder
    from scconcepts.sae import TopKSAE


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--dataset`` / ``--input`` (one of them required), ``--input-layer`` and ``--transpose``."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a bundled dataset: pbmc_sorted, pbmc68k or immune_sample")
    source.add_argument("--input", metavar="FILE", help="cells to analyse: .h5ad, .zarr, 10x .h5, 10x mtx folder, CSV")
    parser.add_argument(
        "--input-layer",
        metavar="NAME",
        help="AnnData layer holding the values to analyse, e.g. counts ('raw': adata.raw; default: X)",
    )
    parser.add_argument(
        "--transpose",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the --input table has genes as rows and cells as columns (--no-transpose: rows are cells, "
        "skip the check; default: rows are cells, and a table that looks transposed is refused)",
    )


def add_backed_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--backed/--no-backed``: leave the ``--input`` matrix on disk and read it by chunks of cells."""
    parser.add_argument(
        "--backed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=".h5ad/.zarr --input: keep the expression matrix on disk and read it by chunks of cells, for data "
        "larger than memory (--no-backed: load it; default: read lazily when loading it would take more than a "
        "quarter of the memory at hand; the choice is logged). Needs a pre-trained model (not scvi)",
    )


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model choice and its options."""
    parser.add_argument(
        "--model",
        default="scvi",
        help="model family: scvi, scgpt, geneformer, torch (a folder written by TorchEncoder.save, given as "
        "--checkpoint) (default: scvi)",
    )
    parser.add_argument("--checkpoint", metavar="DIR", help="load this saved model instead of training one")
    parser.add_argument("--batch-key", help="obs column of batches (scVI)")
    parser.add_argument("--n-latent", type=int, default=10, help="scVI latent dimension (default: 10)")
    parser.add_argument("--max-epochs", type=int, default=None, help="scVI training epochs (default: scvi-tools')")
    parser.add_argument(
        "--layer",
        metavar="NAME",
        help="the model's representation to learn concepts from: scVI latent (default), hidden, hidden_<i>; "
        "scGPT/Geneformer layer_<i> (default: the model's usual cell embedding)",
    )
    add_device_argument(parser)


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--device``: the torch device the models run on (default ``auto``: a CUDA GPU when there is one)."""
    parser.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="where the model and the SAE run: auto (a CUDA GPU when torch sees one, else the CPU), cpu, cuda, "
        "cuda:N or mps (default: auto)",
    )


def device_of(args: argparse.Namespace) -> str:
    """The ``--device`` of the parsed arguments, checked (an InputError when that device is not available)."""
    from scconcepts._device import resolve_device

    return str(resolve_device(args.device))


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler`` / ``--workers``: where the work that splits by cells runs (default: this process)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running dask.distributed scheduler to send work to")
    where.add_argument(
        "--workers", type=positive, default=None, metavar="N", help="start a local dask cluster of N worker processes"
    )


def check_run_models(folder: Path) -> None:
    """Refuse a results folder that lacks the saved model (``model/``) or SAE (``sae/``)."""
    from scconcepts.results import MODEL_DIR, SAE_DIR

    for name in (MODEL_DIR, SAE_DIR):
        if not (folder / name).is_dir():
            raise InputError(f"{folder} has no {name}/ folder; rerun `scconcepts run` to save the model and SAE")


def load_run_models(folder: Path, *, device: str = "cpu") -> tuple[Encoder, TopKSAE]:
    """Load the encoder and the SAE a results folder saved, onto ``device`` (a torch device name)."""
    from scconcepts.models import load_encoder
    from scconcepts.results import MODEL_DIR, SAE_DIR
    from scconcepts.sae import load_sae

    return load_encoder(folder / MODEL_DIR).to(device), load_sae(folder / SAE_DIR, device=device)


def load_cells(args: argparse.Namespace) -> AnnData:
    """Load the cells that ``--dataset`` or ``--input`` names, with ``--input-layer`` moved into ``X``."""
    from scconcepts import ds
    from scconcepts.ds._validate import check_not_all_zero
    from scconcepts.results import check_path

    layer = getattr(args, "input_layer", None)
    source = args.dataset or str(check_path(args.input, "--input"))
    if args.dataset:
        adata = ds.load_dataset(args.dataset)
        if layer is not None:
            from scconcepts.ds._read import _select_layer

            adata = _select_layer(adata, layer, f"dataset {args.dataset}")
        lazy = False
    else:
        from scconcepts.ds._lazy import choose_lazy

        backed = getattr(args, "backed", False)  # commands without --backed always load the matrix
        lazy = backed is not False and choose_lazy(source, backed, layer=layer)
        adata = ds.read(source, layer=layer, transpose=getattr(args, "transpose", None), backed=lazy)
    if adata.n_obs == 0:
        raise InputError("the data hold no cells; give at least one cell")
    if not lazy:  # a lazily read matrix was checked chunk by chunk as it was opened
        check_not_all_zero(adata.X, source=source if layer is None else f"{source} (layer {layer!r})")
    return adata


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """Options for :func:`scconcepts.tl.embed` from the parsed arguments."""
    options: dict[str, Any] = {"model": args.model, "checkpoint": args.checkpoint, "layer": args.layer,
                               "device": device_of(args)}  # fmt: skip
    # --input-layer was moved into X by load_cells, so the model reads X
    if args.model == "scvi":
        if args.n_latent < 2:
            raise InputError(f"--n-latent must be at least 2, got {args.n_latent}")
        options.update(n_latent=args.n_latent, batch_key=args.batch_key, max_epochs=args.max_epochs)
    return options


def positive(value: str) -> int:
    """Argparse type: a positive integer."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


class LazyChoices(Sequence[str]):
    """Argparse ``choices`` read from ``module.name`` when first needed (checking a value or printing help).

    Registering a subcommand then imports nothing heavy, so ``scconcepts --help`` starts fast; give the
    argument a ``metavar``, or argparse lists the choices (and imports the module) at registration.

    Parameters
    ----------
    module
        Module holding the names, e.g. ``"scconcepts.attribution"``.
    name
        Attribute of ``module``: any iterable of names (a tuple, or a dict keyed by name).

    """

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    @cached_property
    def _values(self) -> tuple[str, ...]:
        return tuple(getattr(import_module(self.module), self.name))

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._values[index]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values
