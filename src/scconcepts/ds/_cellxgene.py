"""Fetch any CELLxGENE Discover dataset as an .h5ad into the cache and load it with counts in ``X``."""

from __future__ import annotations

import logging
import re
import urllib.parse
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError, ScconceptsError
from scconcepts.ds._cache import cache_dir
from scconcepts.ds._counts import check_counts
from scconcepts.ds._download import NotFoundError, download, fetch_json
from scconcepts.ds._readers import read_h5ad_file
from scconcepts.ds._validate import validate

logger = logging.getLogger(__name__)

#: CELLxGENE Discover curation API (lists a dataset's versions and their asset URLs).
API_BASE = "https://api.cellxgene.cziscience.com/curation/v1"
#: Public dataset assets: ``{ASSET_BASE}/{dataset_version_id}.h5ad``.
ASSET_BASE = "https://datasets.cellxgene.cziscience.com"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def validate_dataset_id(dataset_id: object) -> str:
    """Return ``dataset_id`` lower-cased if it is a UUID, the form of CELLxGENE ids; raise otherwise.

    Anything else (paths such as ``"../../etc"``, URLs, empty strings) is refused before any request.
    """
    text = dataset_id.strip().lower() if isinstance(dataset_id, str) else ""
    if not _UUID.fullmatch(text):
        raise InputError(
            f"{dataset_id!r} is not a CELLxGENE dataset id; ids are UUIDs such as "
            "1b9d8702-5af8-4142-85ed-020eb06ec4f6 (see the dataset's page on CELLxGENE Discover)"
        )
    return text


def cached_path(dataset_id: str) -> Path:
    """Return the cache path of a dataset's .h5ad (which may not exist yet)."""
    return cache_dir() / "cellxgene" / f"{validate_dataset_id(dataset_id)}.h5ad"


def _check_asset_url(url: object, dataset_id: str) -> str:
    base = urllib.parse.urlsplit(ASSET_BASE)
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    name = parts.path.rsplit("/", 1)[-1] if parts else ""
    if (
        parts is None
        or (parts.scheme, parts.netloc) != (base.scheme, base.netloc)
        or not name.endswith(".h5ad")
        or not _UUID.fullmatch(name[: -len(".h5ad")])
    ):
        raise ScconceptsError(f"CELLxGENE answered an unexpected download URL for dataset {dataset_id}: {url!r}")
    return url


def _newest_h5ad(versions: object, dataset_id: str) -> str:
    entries = versions if isinstance(versions, list) else [versions]
    for entry in entries:
        assets = entry.get("assets", []) if isinstance(entry, dict) else []
        for asset in assets:
            if isinstance(asset, dict) and str(asset.get("filetype", "")).upper() == "H5AD":
                return _check_asset_url(asset.get("url"), dataset_id)
    raise ScconceptsError(
        f"CELLxGENE lists no .h5ad file for dataset {dataset_id}; download it by hand and use --input"
    )


def asset_url(dataset_id: str) -> str:
    """Return the .h5ad URL of the newest version of a dataset.

    ``dataset_id`` is looked up with the curation API; when the API does not know it, it is taken to be
    a dataset *version* id, whose file is ``{ASSET_BASE}/{id}.h5ad``.
    """
    dataset_id = validate_dataset_id(dataset_id)
    what = f"CELLxGENE dataset {dataset_id}"
    try:
        versions = fetch_json(f"{API_BASE}/datasets/{dataset_id}/versions", what=what)
    except NotFoundError:
        logger.info("%s is not a dataset id known to the curation API; trying it as a dataset version id", dataset_id)
        return f"{ASSET_BASE}/{dataset_id}.h5ad"
    return _newest_h5ad(versions, dataset_id)


def _symbols(adata: AnnData, source_var: object) -> None:
    """Use gene symbols (CELLxGENE ``feature_name``) as ``var_names``; keep Ensembl ids in ``var["feature_id"]``."""
    names = adata.var.get("feature_name")
    if names is None and "feature_name" in getattr(source_var, "columns", []):
        names = source_var["feature_name"].reindex(adata.var_names)
    if names is None or names.isna().any():
        return
    adata.var["feature_id"] = adata.var_names.astype(str)
    adata.var_names = names.astype(str).to_numpy()


def prepare_cellxgene(adata: AnnData, *, name: str) -> AnnData:
    """Turn a CELLxGENE .h5ad into the package's form: counts in ``X``, symbols, ``obs["cell_type"]``.

    CELLxGENE keeps raw counts in ``raw.X`` when ``X`` is normalised; they are moved into ``X``.
    """
    source_var = adata.var
    counts = check_counts(adata)
    if counts.use_raw:
        adata = adata.raw.to_adata()
    elif counts.layer is not None:
        adata.X = adata.layers[counts.layer]
    adata.raw = None
    _symbols(adata, source_var)
    if "cell_type" not in adata.obs:
        raise InputError(f"CELLxGENE dataset {name} has no obs['cell_type']; it does not follow the CELLxGENE schema")
    adata.obs["cell_type"] = adata.obs["cell_type"].astype(str).astype("category")
    validate(adata, source=f"CELLxGENE dataset {name}")
    matrix = adata.X.tocsr() if sp.issparse(adata.X) else sp.csr_matrix(np.asarray(adata.X))
    adata.X = matrix.astype(np.float32)
    adata.uns["dataset"] = name
    return adata


def load_h5ad(path: Path, name: str) -> AnnData:
    try:
        adata = read_h5ad_file(path)
    except InputError as error:
        raise InputError(f"{error}; delete the cached file {path} to download it again") from None
    return prepare_cellxgene(adata, name=name)


def fetch_h5ad(dataset_id: str) -> Path:
    """Return the cached .h5ad of a CELLxGENE dataset, downloading it first when it is not cached."""
    path = cached_path(dataset_id)
    if path.is_file():
        logger.info("using cached %s", path)
        return path
    url = asset_url(dataset_id)
    try:
        return download(url, path, what=f"CELLxGENE dataset {dataset_id}")
    except NotFoundError:
        raise InputError(
            f"CELLxGENE has no dataset or dataset version with id {dataset_id}; check the id on its dataset page"
        ) from None


def cellxgene(dataset_id: str) -> AnnData:
    """Download (once) and load any CELLxGENE Discover dataset.

    The .h5ad is kept in the cache (``$SCCONCEPTS_CACHE`` or the user cache folder, under ``cellxgene/``)
    and reused without network afterwards. The download goes through a ``.part`` file renamed at the end.

    Parameters
    ----------
    dataset_id
        A CELLxGENE dataset id (UUID, resolved to its newest version through the curation API) or a
        dataset version id (the UUID in ``https://datasets.cellxgene.cziscience.com/<id>.h5ad``).

    Returns
    -------
    Cells x genes AnnData with integer counts (float32 CSR) in ``X``, gene symbols as ``var_names``
    (Ensembl ids in ``var["feature_id"]``), ``obs["cell_type"]`` from CELLxGENE's ``cell_type``.

    Raises
    ------
    InputError
        For an id that is not a UUID (checked before any request) or unknown to CELLxGENE.
    OfflineError
        When the network cannot be reached and the dataset is not cached.

    """
    dataset_id = validate_dataset_id(dataset_id)
    return load_h5ad(fetch_h5ad(dataset_id), dataset_id)
