"""Reading gene sets from GMT files (one set a line: name, description, genes, tab-separated)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from scconcepts._errors import InputError
from scconcepts.genesets._sets import GeneSets

logger = logging.getLogger(__name__)

_TERM_ID = re.compile(r"^(?P<name>.*?)\s*\((?P<id>(?:GO|HP|MP|DOID|R-HSA)[:\-][\w\-]+)\)\s*$")


def split_term(label: str) -> tuple[str, str]:
    """Split ``"T cell activation (GO:0042110)"`` into ``("GO:0042110", "T cell activation")``.

    Labels without a recognised identifier are their own identifier.
    """
    match = _TERM_ID.match(label)
    if match:
        return match.group("id"), match.group("name")
    return label, label


def read_gmt(path: str | Path, *, source: str | None = None) -> GeneSets:
    """Read a GMT file.

    Each non-empty line is ``name<TAB>description<TAB>gene<TAB>gene...``. Genes written ``GENE,1.0``
    (weighted Enrichr style) keep the part before the comma. A trailing ``(GO:...)`` in the name
    becomes the term id.

    Parameters
    ----------
    path
        The ``.gmt`` file.
    source
        Name of the source in results; defaults to the file name without extension.

    Raises
    ------
    InputError
        When the file is missing, a line has no gene, or a set name repeats.

    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gene-set file {path} does not exist; pass the path of a .gmt file")
    source = source or path.name.removesuffix(".gz").removesuffix(".gmt")
    sets: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not a text GMT file ({error.reason}); pass a tab-separated .gmt file") from error
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        genes = [gene.split(",")[0].strip() for gene in fields[2:]]
        genes = [gene for gene in genes if gene]
        if len(fields) < 3 or not genes or not fields[0].strip():
            raise InputError(
                f"{path}:{number}: a GMT line needs a name, a description and at least one gene separated by tabs"
            )
        term_id, name = split_term(fields[0].strip())
        if term_id in sets:
            raise InputError(
                f"{path}:{number}: gene set {fields[0].strip()!r} appears twice; give each set a unique name"
            )
        sets[term_id] = genes
        names[term_id] = name
    if not sets:
        raise InputError(f"{path} holds no gene set; pass a non-empty .gmt file")
    logger.debug("read %d gene sets from %s", len(sets), path)
    return GeneSets.from_dict(source, sets, names=names)
