"""Expert annotations of concepts, kept in ``annotations.json`` of the results folder.

Each save re-reads the file under a lock (a thread lock plus ``flock`` on the folder, so two
servers on one folder are safe too), changes one concept and writes the file back through a
temporary file and :func:`os.replace`: the last write of a concept wins, edits of other concepts
are never lost, and the file is never half written.

The file is bound to the concept dictionary of the run (``"dictionary"``, the id in the folder's
manifest): concept ids mean nothing for another dictionary. A file that cannot be read (a bad hand
edit), that belongs to another dictionary, or a folder rewritten by another run since the store was
opened raises :class:`AnnotationsError`: nothing is written over it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from scconcepts._errors import ScconceptsError
from scconcepts.results import ANNOTATIONS_JSON, atomic_write_text, dictionary_id, is_results_folder

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CSV_COLUMNS = ["concept", "label", "note", "confidence", "interpretable", "updated", "automatic_label"]


class Annotation(BaseModel):
    """What an expert says about one concept."""

    label: str = Field("", max_length=200)
    note: str = Field("", max_length=4000)
    confidence: int | None = Field(None, ge=1, le=5)
    interpretable: bool | None = None


class AnnotationsError(ScconceptsError):
    """``annotations.json`` cannot be used as it is (unreadable, another dictionary's, folder rewritten)."""


class AnnotationStore:
    """Read and update ``annotations.json`` in ``folder`` (the only file the explorer writes).

    Parameters
    ----------
    folder
        Results folder.

    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / ANNOTATIONS_JSON
        self._lock = threading.Lock()
        self.dictionary = self._folder_dictionary()

    def _folder_dictionary(self) -> str | None:
        return dictionary_id(self.folder) if is_results_folder(self.folder) else None

    def _check_folder(self) -> None:
        current = self._folder_dictionary()
        if current != self.dictionary:
            raise AnnotationsError(
                f"{self.folder} now holds the concepts of another run (dictionary {current}, was {self.dictionary}); "
                "nothing was saved: restart `scconcepts serve` to annotate the new concepts"
            )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise AnnotationsError(f"cannot read {self.path} ({error}); nothing was saved") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as error:
            raise AnnotationsError(
                f"{self.path} is not valid JSON at line {error.lineno}, column {error.colno} ({error.msg}); "
                "fix it or move it away: nothing was saved, so no annotation in it is lost"
            ) from None
        concepts = doc.get("concepts") if isinstance(doc, dict) else None
        if not isinstance(concepts, dict) or not all(isinstance(v, dict) for v in concepts.values()):
            raise AnnotationsError(
                f'{self.path} is not an annotations file (expected {{"concepts": {{"<id>": {{...}}}}}}); '
                "fix it or move it away: nothing was saved"
            )
        bound = doc.get("dictionary")
        if bound is not None and self.dictionary is not None and bound != self.dictionary:
            raise AnnotationsError(
                f"{self.path} annotates the concepts of another dictionary ({bound}, this folder's is "
                f"{self.dictionary}); its ids mean other concepts here: move it away (e.g. to annotations.{bound}.json)"
            )
        return {str(k): v for k, v in concepts.items()}

    def all(self) -> dict[str, dict[str, Any]]:
        """Every annotation, keyed by concept id (as a string)."""
        with self._lock:
            return self._read()

    def save(self, concept: int, annotation: Annotation) -> dict[str, Any]:
        """Store ``annotation`` for ``concept`` (replacing its previous one) and return the stored record."""
        record = {**annotation.model_dump(), "updated": datetime.now(UTC).isoformat(timespec="milliseconds")}
        with self._locked():
            self._check_folder()
            concepts = self._read()
            concepts[str(concept)] = record
            self._write(concepts)
        return record

    def delete(self, concept: int) -> bool:
        """Remove the annotation of ``concept``; return whether there was one."""
        with self._locked():
            self._check_folder()
            concepts = self._read()
            found = concepts.pop(str(concept), None) is not None
            if found:
                self._write(concepts)
        return found

    def _write(self, concepts: dict[str, dict[str, Any]]) -> None:
        ordered = dict(sorted(concepts.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else -1))
        doc = {"version": FORMAT_VERSION, "dictionary": self.dictionary, "concepts": ordered}
        atomic_write_text(self.path, json.dumps(doc, indent=1))
        self.path.chmod(0o644)  # readable like the other result files (the temporary file was private)

    def to_csv(self, automatic: dict[int, str]) -> str:
        """All annotations as CSV text (one row per annotated concept, with its automatic label)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        # keys that name no concept (a hand edit) are left out, not fatal
        rows = [(int(key), rec) for key, rec in self.all().items() if key.isascii() and key.isdigit()]
        for cid, rec in sorted(rows, key=lambda row: row[0]):
            row = {c: rec.get(c) for c in CSV_COLUMNS}
            row.update(concept=cid, automatic_label=automatic.get(cid, ""))
            # a leading = + - @ would be run as a formula by spreadsheets
            writer.writerow({k: _safe_cell(v) for k, v in row.items()})
        return buffer.getvalue()


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
