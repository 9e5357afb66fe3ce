"""Names of the AnnData keys that scconcepts reads and writes (the AnnData contract).

A ``key`` (default ``"concepts"``) is the stem that lets several runs live in one object.
"""

DEFAULT_KEY = "concepts"


def embedding_key(model: str) -> str:
    """Return the ``obsm`` key of a model's cell embedding, e.g. ``X_scvi``."""
    return model if model.startswith("X_") else f"X_{model}"


def activations_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``obsm`` key of the cells x concepts activations (CSR)."""
    return f"X_{key}"


def params_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``uns`` key holding parameters, metrics and the concept table."""
    return key


def attribution_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``varm`` key of the genes x concepts attribution scores."""
    return f"{key}_attribution"


def attribution_raw_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``varm`` key of the genes x concepts raw causal effects (before the specificity contrast)."""
    return f"{key}_attribution_raw"


def enrichment_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``uns`` key of the long enrichment table."""
    return f"{key}_enrichment"


def attribution_padj_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``varm`` key of the genes x concepts FDR-adjusted p-values of the attribution."""
    return f"{key}_attribution_padj"


def de_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``varm`` key of the genes x concepts differential-expression scores (signed)."""
    return f"{key}_de"


#: ``obs`` column of cell types used when a run recorded none.
DEFAULT_LABELS_KEY = "cell_type"


def labels_key_of(params: dict, default: str | None = DEFAULT_LABELS_KEY) -> str | None:
    """Return the ``obs`` column of cell types a run recorded in ``uns[<key>]["params"]["labels_key"]``.

    A run without labels stores ``"none"`` (h5ad cannot hold ``None``); then, and for older runs that
    recorded nothing, ``default`` is returned.
    """
    value = params.get("labels_key") if params else None
    if value is None or str(value) in {"", "none"}:
        return default
    return str(value)


def steering_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``uns`` key of the latest steering result (``tl.steer``)."""
    return f"{key}_steering"


def token_genes_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``varm`` key of a token dictionary's genes x concepts per-gene activation (NaN: no token)."""
    return f"{key}_token_genes"


def token_mean_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``obsm`` key of a token dictionary's cells x concepts mean over each cell's tokens (CSR)."""
    return f"X_{key}_token_mean"
