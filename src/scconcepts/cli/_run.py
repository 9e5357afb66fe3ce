"""``scconcepts run``: cells in, concepts out, measured: the whole pipeline into a results folder."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scconcepts._errors import InputError
from scconcepts._keys import activations_key, params_key
from scconcepts._regime import (
    DEFAULT_ATOM_INIT,
    DEFAULT_ATOM_K,
    DEFAULT_EXPANSION,
    DEFAULT_REGIME,
    DEFAULT_SEEDS,
    REGIMES,
    TOKEN_EXPANSION,
    TOKEN_K,
    TOKEN_MIN_STEPS,
    TOKEN_REGIME,
    TOKEN_SEEDS,
)
from scconcepts.cli._attribute import ATTRIBUTION_CSV
from scconcepts.cli._bring_sae import add_sae_argument, read_brought, use_brought
from scconcepts.cli._common import (
    add_backed_argument,
    add_cluster_arguments,
    add_input_arguments,
    add_model_arguments,
    device_of,
    load_cells,
    model_options,
    positive,
)
from scconcepts.cli._enrich import ENRICHMENT_CSV, enrichment_metrics
from scconcepts.cli._failure import step
from scconcepts.cli._run_tokens import (
    add_token_arguments,
    check_token_options,
    token_trainer,
    use_brought_tokens,
    write_token_ranking,
)
from scconcepts.results import (
    METRICS_JSON,
    MODEL_DIR,
    RESULTS_H5AD,
    SAE_DIR,
    check_path,
    new_results_folder,
    write_concepts_csv,
)

if TYPE_CHECKING:
    from anndata import AnnData

    from scconcepts.models import Encoder
    from scconcepts.sae import TopKSAE

logger = logging.getLogger(__name__)

DEFAULT_LABELS_KEY = "cell_type"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser("run", help="embed cells, learn concepts, explain and measure them")
    add_input_arguments(parser)
    add_model_arguments(parser)
    add_backed_argument(parser)
    add_token_arguments(parser)
    parser.add_argument(
        "--regime",
        choices=REGIMES,
        default=None,
        help="programs: each concept is one side of an independent component of the embedding, cells keep as many "
        "as they need (additive: a state shared by every cell type is one concept); sae: Top-K sparse autoencoders "
        f"(a consensus of --seeds seeds, or one with --seeds 1) (default: {DEFAULT_REGIME}; with --tokens: "
        f"{TOKEN_REGIME})",
    )
    parser.add_argument(
        "--k",
        type=positive,
        default=None,
        help=f"--regime sae: active concepts per cell (default: dim / 2, at most 32; with --tokens: {TOKEN_K})",
    )
    parser.add_argument(
        "--expansion",
        type=positive,
        default=None,
        help=f"--regime sae: dictionary size / embedding dim (default: {DEFAULT_EXPANSION}; with --tokens: "
        f"{TOKEN_EXPANSION})",
    )
    parser.add_argument(
        "--epochs",
        type=positive,
        default=None,
        help=f"SAE training epochs (default: automatic; with --tokens: as few as make {TOKEN_MIN_STEPS} steps of "
        "256 tokens)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--seeds",
        type=positive,
        default=None,
        help="programs: ICA starts whose medoid is kept and each concept matched against; sae: "
        "SAEs to train from seeds --seed, --seed+1, ...; above 1 the concepts are the directions that recur across "
        "them (consensus, each with its reproducibility); 1 trains a single SAE "
        f"(default: {DEFAULT_SEEDS}; with --tokens: {TOKEN_SEEDS})",
    )
    parser.add_argument(
        "--atom-k",
        type=positive,
        default=DEFAULT_ATOM_K,
        help="with --seeds > 1: active concepts per cell while each seed learns its atoms; cells are then encoded "
        "with --k of the atoms that recur (default: 1)",
    )
    parser.add_argument(
        "--atom-init",
        choices=["kmeans", "random"],
        default=DEFAULT_ATOM_INIT,
        help="where the SAE's atoms start: spherical k-means directions of the cells, or random (default: kmeans)",
    )
    parser.add_argument(
        "--keep-unreproducible",
        action="store_true",
        help="with --seeds > 1: keep the first seed's concepts and flag those that do not recur, instead of "
        "dropping them",
    )
    add_sae_argument(parser)
    parser.add_argument(
        "--labels-key", default=None, help="obs column of cell types (default: cell_type, when the cells have it)"
    )
    parser.add_argument("--no-attribution", action="store_true", help="skip gene attribution and enrichment")
    parser.add_argument(
        "--attribution-cells",
        type=positive,
        default=50,
        metavar="N",
        help="each concept's most active cells in which its genes are perturbed (attribution, faithfulness, "
        "held-out term members); fewer is faster (default: 50)",
    )
    parser.add_argument("--no-enrichment", action="store_true", help="skip gene-set enrichment and labels")
    parser.add_argument("--gene-symbols", metavar="COLUMN", help="var column holding gene symbols (for enrichment)")
    parser.add_argument(
        "--species",
        type=str.lower,
        choices=["human", "mouse"],
        default=None,
        help="species of the genes; mouse symbols are matched to human gene sets by case-insensitive symbol "
        "(an approximation of orthology) (default: mouse when most symbols are written the mouse way, e.g. "
        "Cd3e, said in the log; else human)",
    )
    add_cluster_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="results folder to create")
    parser.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in --out")
    parser.set_defaults(func=run_pipeline)


def _check_options(args: argparse.Namespace) -> None:
    """Refuse impossible options before any work is done."""
    device_of(args)  # a GPU asked for but absent is refused before reading the cells
    check_token_options(args)
    defaults = (TOKEN_REGIME, TOKEN_SEEDS, TOKEN_EXPANSION) if args.tokens else (
        DEFAULT_REGIME, DEFAULT_SEEDS, DEFAULT_EXPANSION)  # fmt: skip
    args.regime = args.regime or defaults[0]
    args.seeds = args.seeds or defaults[1]
    args.expansion = args.expansion or defaults[2]
    latent = args.layer in (None, "latent")
    if args.regime == "sae" and args.model == "scvi" and args.checkpoint is None and args.k is not None and latent:
        n_concepts = args.expansion * args.n_latent
        if args.k > n_concepts:
            raise InputError(
                f"--k {args.k} is larger than the dictionary ({args.expansion} x {args.n_latent} = "
                f"{n_concepts} concepts); lower --k or raise --expansion"
            )


def compute_umap(adata: AnnData, use_rep: str, *, seed: int = 0) -> None:
    """Store a 2-D UMAP of the model embedding in ``obsm["X_umap"]`` (for plots and the explorer)."""
    from scconcepts.tl._umap import cell_map

    cell_map(adata, use_rep=use_rep, seed=seed)


def add_attribution(
    adata: AnnData,
    folder: Path,
    *,
    encoder: Encoder,
    sae: TopKSAE,
    key: str,
    client: Any = None,
    n_cells: int = 50,
) -> None:
    """Attribute every concept to genes (in ``n_cells`` cells each) and write ``attribution.csv`` into ``folder``.

    Token concepts (``--tokens``) are attributed the same way: a gene is perturbed in the cell's counts, the
    transformer re-run and every gene token of the cell re-encoded (``attribution.TokenConceptEncoder``).
    """
    from scconcepts import tl
    from scconcepts.tl._attribution_table import attribution_table

    tl.attribute(adata, encoder=encoder, sae=sae, key=key, client=client, n_cells=n_cells)
    attribution_table(adata, key=key).to_csv(folder / ATTRIBUTION_CSV, index=False)
    try:  # each concept's top attributed genes scored on held-out cells: explanation_auroc/_spearman columns
        tl.explanation_score(adata, key=key)
    except InputError as error:
        logger.info("explanation score skipped: %s", error)
    tl.faithfulness(adata, encoder=encoder, sae=sae, key=key, n_cells=n_cells)  # fall_* and faithful columns


def enrichment_plan(adata: AnnData, args: argparse.Namespace) -> dict[str, Any] | None:
    """Check before training that enrichment can match the genes; return its options, or None to skip it."""
    from scconcepts import tl
    from scconcepts.genesets._species import resolve_species

    if args.no_attribution or args.no_enrichment:
        return None
    species = resolve_species(args.species, adata.var_names, var=adata.var, gene_symbols=args.gene_symbols)
    matches = tl.check_genes(adata, gene_symbols=args.gene_symbols, species=species)
    if not all(match.usable for match in matches):
        logger.warning("enrichment and labels will be skipped; training goes on (rerun `scconcepts enrich DIR` "
                       "with --gene-symbols/--species to add them)")  # fmt: skip
        return None
    return {"gene_symbols": args.gene_symbols, "species": species}


def add_enrichment(adata: AnnData, folder: Path, *, key: str, **options: Any) -> dict[str, Any]:
    """Enrich and label every concept (default sources), write ``enrichment.csv``; return the metrics summary.

    Enrichment comes after hours of work may be: if it fails on the input (an ``InputError``), the
    failure is logged and recorded (``{"skipped": reason}``) and the run keeps everything else.
    """
    from scconcepts.tl import enrich, enrichment_summary, enrichment_table, label_concepts

    try:
        enrich(adata, key=key, **options)
    except InputError as error:
        logger.warning("enrichment failed (%s); the results are kept without enrichment and labels", error)
        return {"skipped": str(error)}
    label_concepts(adata, key=key)
    enrichment_table(adata, key=key).to_csv(folder / ENRICHMENT_CSV, index=False)
    ranking = str(adata.uns[params_key(key)]["enrichment_params"]["gene_ranking"])
    return {"gene_ranking": ranking, **enrichment_metrics(enrichment_summary(adata, key=key))}


def add_term_members(adata: AnnData, *, encoder: Encoder, sae: TopKSAE, key: str, n_cells: int = 50) -> dict[str, Any]:
    """Test every label's term on its members outside the concept's top genes; return the summary for metrics."""
    from scconcepts.tl import term_members

    term_members(adata, encoder=encoder, sae=sae, key=key, n_cells=n_cells)
    return dict(adata.uns[params_key(key)]["term_members"])


def summary_metrics(adata: AnnData, key: str) -> dict[str, Any]:
    """Metrics and run parameters for ``metrics.json``."""
    info = adata.uns[params_key(key)]
    params = info["params"]
    return {
        "accuracy_concepts": None,  # null when the cells have no labels (e.g. immune_sample)
        "accuracy_embedding": None,
        **{name: float(value) for name, value in info["metrics"].items()},
        "n_concepts": int(params["n_concepts"]),
        "k": int(params["k"]),
        "expansion": int(params["expansion"]),
        "embedding_dim": int(params["embedding_dim"]),
        "seed": int(params["seed"]),
        "n_seeds": int(params.get("n_seeds", 1)),
        "model": str(params["model"]),
        "n_cells": int(adata.n_obs),
        "n_genes": int(adata.n_vars),
        **({"explanation": dict(info["explanation"])} if "explanation" in info else {}),
    }


def check_labels_key(adata: AnnData, labels_key: str | None) -> str | None:
    """The obs column of cell types: ``labels_key`` (refused if absent), else ``cell_type`` when present."""
    if labels_key is None:
        return DEFAULT_LABELS_KEY if DEFAULT_LABELS_KEY in adata.obs else None
    if labels_key not in adata.obs:
        columns = ", ".join(repr(str(c)) for c in adata.obs.columns[:30]) or "none"
        more = f" (and {len(adata.obs.columns) - 30} more)" if len(adata.obs.columns) > 30 else ""
        raise InputError(f"--labels-key {labels_key!r} is not a column of the cells' obs; columns: {columns}{more}")
    return labels_key


def train_and_save(
    adata: AnnData,
    args: argparse.Namespace,
    *,
    encoder: Encoder,
    key: str,
    labels_key: str | None,
    folder: Path,
    client: Any,
) -> TopKSAE:
    """Train the run's SAE (on the embedding, or with ``--tokens`` on the token states) and save it into ``folder``."""
    from scconcepts import tl
    from scconcepts.sae import save_sae

    use_rep = encoder.obsm_key
    train_concepts = token_trainer(encoder, args, folder) if args.tokens else tl.train_sae
    result = train_concepts(
        adata, use_rep=use_rep, regime=args.regime, k=args.k, expansion=args.expansion, seed=args.seed,
        key_added=key, labels_key=labels_key, epochs=args.epochs, n_seeds=args.seeds, atom_k=args.atom_k,
        atom_init=args.atom_init, unreproducible="flag" if args.keep_unreproducible else "drop",
        device=device_of(args), client=client,
    )  # fmt: skip
    save_sae(result.sae, folder / SAE_DIR, config=result.config,
             extra={"use_rep": use_rep, "model": encoder.name, "layer": encoder.layer})  # fmt: skip
    return result.sae


def log_done(adata: AnnData, metrics: dict[str, Any], out: Path, *, key: str) -> None:
    """The run's last lines: concepts (alive), held-out R^2, and where to look next."""
    n_alive = int((adata.obsm[activations_key(key)].getnnz(axis=0) > 0).sum())
    logger.info(
        "done: %d concepts (%d alive), held-out R^2 %.3f. Results in %s",
        metrics["n_concepts"],
        n_alive,
        metrics["r2"],
        out,
    )
    logger.info("summary: scconcepts info %s; report: %s", out, out / "report.html")
    logger.info("explore and annotate the concepts: scconcepts serve %s", out)


def run_pipeline(args: argparse.Namespace) -> int:
    """Run embed -> SAE -> metrics into a new results folder (written only if every step succeeds)."""
    from scconcepts import tl
    from scconcepts.distributed import dask_client
    from scconcepts.report import write_report
    from scconcepts.tl._embed import check_cells

    _check_options(args)
    key = "concepts"
    info = {
        "command": "run",
        "dataset": args.dataset,
        "input": str(args.input) if args.input else None,
        "model": args.model,
        "layer": args.layer,
        "tokens": args.tokens,
    }
    out = check_path(args.out, "--out")
    brought = read_brought(args)  # --sae: read and checked before the cells
    if brought is not None:
        info["sae"] = f"{args.sae} ({brought.format} {brought.architecture})"
    cluster = dask_client(scheduler=args.scheduler, workers=args.workers)
    with new_results_folder(out, overwrite=args.overwrite, info=info) as tmp, cluster as client:
        with step("reading the cells"):
            adata = load_cells(args)
            check_cells(adata, args.model)  # e.g. no raw counts for scVI: refused before anything slow
            labels_key = check_labels_key(adata, args.labels_key)
            enrich_options = enrichment_plan(adata, args)
        with step(f"embedding the cells ({args.model})"):
            encoder = tl.embed(adata, client=client, **model_options(args))
            use_rep = encoder.obsm_key
            encoder.save(tmp / MODEL_DIR)
        if brought is not None:
            with step("encoding the cells with the SAE brought along"):
                bring = use_brought_tokens if args.tokens else use_brought
                sae = bring(brought, adata, encoder, tmp if args.tokens else tmp / SAE_DIR, args=args, key=key,
                            labels_key=labels_key)  # fmt: skip
        else:
            with step("training the SAE"):
                sae = train_and_save(adata, args, encoder=encoder, key=key, labels_key=labels_key, folder=tmp,
                                     client=client)  # fmt: skip
        with step("computing the UMAP"):
            compute_umap(adata, use_rep, seed=args.seed)
        if not args.no_attribution:
            with step("attributing the concepts to genes"):
                add_attribution(adata, tmp, encoder=encoder, sae=sae, key=key, client=client,
                                n_cells=args.attribution_cells)  # fmt: skip
        if args.tokens:  # which gene tokens carry each concept, beside which genes cause it (the attribution)
            write_token_ranking(adata, tmp, key=key)

        metrics = summary_metrics(adata, key)
        metrics["layer"] = encoder.layer
        if enrich_options is not None:
            with step("enriching the concepts' genes"):
                metrics["enrichment"] = add_enrichment(adata, tmp, key=key, **enrich_options)
            if "skipped" not in metrics["enrichment"]:
                with step("testing each label on its term's other genes"):
                    metrics["term_members"] = add_term_members(adata, encoder=encoder, sae=sae, key=key,
                                                               n_cells=args.attribution_cells)  # fmt: skip
        elif not (args.no_attribution or args.no_enrichment):
            metrics["enrichment"] = {"skipped": "the genes could not be matched to the gene sets (see the log)"}
        with step("writing the results"):
            write_concepts_csv(adata, tmp, key=key)
            (tmp / METRICS_JSON).write_text(json.dumps(metrics, indent=2))
            adata.write_h5ad(tmp / RESULTS_H5AD)
        with step("writing the report"):
            write_report(out, staging=tmp, new_run=True)
    log_done(adata, metrics, out, key=key)
    return 0
