"""Is a matrix the wrong way round? Gene names that look like cell barcodes, cell names that look like genes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from anndata import AnnData

#: A 10x-style barcode (``AAACCTGAGAAGGCCT-1``, optionally with a sample prefix) or a numbered cell id.
CELL_ID = re.compile(
    r"(^|[_:\-.])[ACGTN]{10,}(-\d+)?$|^(cell|barcode|bc|sample)[_\-.]?\d+$|^[ACGTN]{10,}[_\-.]", re.IGNORECASE
)
#: A gene symbol (``CD3E``, ``HLA-DRA``, ``MT-CO1``, ``RP11-34P13.7``) or an Ensembl gene id.
GENE = re.compile(r"^(ENS[A-Z]*G\d{6,}(\.\d+)?|[A-Za-z][A-Za-z0-9]{0,9}([\-.][A-Za-z0-9]{1,8}){0,2})$")
#: Share of names that must look like cell ids before the orientation is called wrong.
THRESHOLD = 0.5
SAMPLE = 2000


def _share(names: Sequence[str], pattern: re.Pattern[str]) -> float:
    names = [str(n) for n in names[:SAMPLE]]
    return sum(bool(pattern.search(n)) for n in names) / max(len(names), 1)


def _is_cell_id(name: str) -> bool:
    # a gene symbol never is 10+ letters of A, C, G, T, N only
    return bool(CELL_ID.search(name))


def genes_as_rows_problem(adata: AnnData) -> str | None:
    """Say why ``adata`` looks like genes x cells (a sentence), or ``None`` when it looks like cells x genes.

    Called wrong when most "gene" names look like cell barcodes or numbered cell ids while the
    "cell" names do not.
    """
    genes, cells = list(adata.var_names), list(adata.obs_names)
    if not genes or not cells:
        return None
    gene_cellish = _share(genes, CELL_ID)
    cell_cellish = _share(cells, CELL_ID)
    if gene_cellish < THRESHOLD or cell_cellish >= THRESHOLD:
        return None
    example_gene = next(g for g in genes if _is_cell_id(str(g)))
    example_cell = next((c for c in cells if GENE.match(str(c))), cells[0])
    return (
        f"the columns look like cells ({gene_cellish:.0%} of the {adata.n_vars} 'genes' are named like barcodes "
        f"or cell ids, e.g. {example_gene!r}) and the rows like genes (e.g. {example_cell!r})"
    )
