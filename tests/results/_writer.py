"""A process that changes a results folder like the subcommands do (for the crash tests).

Usage: python _writer.py FOLDER GENERATION. It rewrites three files and a subfolder, each
holding GENERATION, and removes ``gone.txt``, in one commit.
"""

import sys
from pathlib import Path

from scconcepts.results import update_results_folder

folder, generation = Path(sys.argv[1]), sys.argv[2]
with update_results_folder(folder) as staging:
    for name in ("results.h5ad", "metrics.json", "enrichment.csv"):
        (staging / name).write_text(generation)
    (staging / "sae").mkdir()
    (staging / "sae" / "model.safetensors").write_text(generation)
