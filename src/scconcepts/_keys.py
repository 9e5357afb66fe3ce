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


def enrichment_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``uns`` key of the long enrichment table."""
    return f"{key}_enrichment"


def attribution_padj_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``varm`` key of the genes x concepts FDR-adjusted p-values of the attribution."""
    return f"{key}_attribution_padj"


def de_key(key: str = DEFAULT_KEY) -> str:
    """Return the ``varm`` key of the genes x concepts differential-expression scores (signed)."""
    return f"{key}_de"
