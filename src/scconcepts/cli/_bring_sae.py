"""``run --sae DIR``: use an SAE checkpoint (ours, SAELens', sparsify's) instead of training one.

The checkpoint is read before the cells (a folder that is not one, or an architecture scconcepts does not support,
is refused at once); its hook is checked against ``--layer`` when that is given, and again, with the dimension,
against the embedding once the cells are embedded.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scconcepts._errors import InputError

if TYPE_CHECKING:
    from anndata import AnnData

    from scconcepts.models import Encoder
    from scconcepts.sae import Checkpoint, TopKSAE

logger = logging.getLogger(__name__)


def add_sae_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--sae DIR``."""
    parser.add_argument(
        "--sae",
        metavar="DIR",
        help="use this SAE instead of training one: a results folder or SAE folder of scconcepts, a SAELens "
        "checkpoint (cfg.json + sae_weights.safetensors) or a sparsify one (cfg.json + sae.safetensors), trained "
        "on this model's embedding at --layer (the SAE training options are then unused)",
    )


def read_brought(args: argparse.Namespace) -> Checkpoint | None:
    """The checkpoint ``--sae`` names (None without it), its hook checked against an explicit ``--layer``."""
    if args.sae is None:
        return None
    from scconcepts.sae import read_checkpoint
    from scconcepts.sae._hooks import check_hook

    checkpoint = read_checkpoint(args.sae)
    scvi_latent = args.model == "scvi" and args.checkpoint is None and args.layer in (None, "latent")
    if scvi_latent and checkpoint.sae.d_in != args.n_latent:  # known before scVI trains
        raise InputError(
            f"--sae {args.sae} reads {checkpoint.sae.d_in} dimensions but the scVI latent has {args.n_latent} "
            "(--n-latent)"
        )
    if args.layer is not None:
        check_hook(checkpoint.hook, args.layer, source=f"--sae {args.sae}")
    logger.info("SAE from %s (%s, %s): %d concepts on %d dimensions%s", args.sae, checkpoint.format,
                checkpoint.architecture, checkpoint.sae.n_latents, checkpoint.sae.d_in,
                f", hook {checkpoint.hook}" if checkpoint.hook else "")  # fmt: skip
    return checkpoint


def check_brought(checkpoint: Checkpoint, encoder: Encoder, adata: AnnData, *, source: str) -> None:
    """Refuse (one line) an SAE whose dimension or hook does not fit the embedding the encoder gave."""
    from scconcepts.sae._hooks import check_hook

    dim = adata.obsm[encoder.obsm_key].shape[1]
    if dim != checkpoint.sae.d_in:
        raise InputError(
            f"{source} reads {checkpoint.sae.d_in} dimensions but the {encoder.name} embedding at {encoder.layer} "
            f"has {dim}"
        )
    check_hook(checkpoint.hook, encoder.layer, source=source)


def use_brought(
    checkpoint: Checkpoint,
    adata: AnnData,
    encoder: Encoder,
    folder: Path,
    *,
    args: argparse.Namespace,
    key: str,
    labels_key: str | None,
) -> TopKSAE:
    """Check the SAE against the embedding, record its concepts in ``adata`` and save it into ``folder``."""
    from scconcepts.sae import save_sae
    from scconcepts.tl._use_sae import use_sae

    source = f"--sae {args.sae}"
    check_brought(checkpoint, encoder, adata, source=source)
    origin = {"format": checkpoint.format, "dir": str(args.sae), "hook": checkpoint.hook,
              "architecture": checkpoint.architecture}  # fmt: skip
    use_rep = encoder.obsm_key
    use_sae(adata, checkpoint.sae, use_rep=use_rep, key_added=key, labels_key=labels_key, seed=args.seed,
            source=origin)  # fmt: skip
    save_sae(checkpoint.sae, folder, extra={"use_rep": use_rep, "model": encoder.name, "layer": encoder.layer,
                                            "source": origin})  # fmt: skip
    return checkpoint.sae
