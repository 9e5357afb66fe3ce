#!/usr/bin/env bash
# Install the official scGPT wheel (without its dependencies) beside the virtual environment, for the test
# that checks our scGPT encoder against the official TransformerModel. Not used at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="0.2.4"
TARGET=".venv/scgpt-reference"
STAMP="$TARGET/.scgpt-$VERSION"
if [ -f "$STAMP" ] && [ -f "$TARGET/scgpt/model/model.py" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  echo "install-scgpt-reference: .venv/bin/python is missing; run 'make install' first" >&2
  exit 1
fi
rm -rf "$TARGET"
if ! .venv/bin/python -m pip install --quiet --no-deps --target "$TARGET" "scgpt==$VERSION"; then
  echo "install-scgpt-reference: could not install scgpt==$VERSION from the package index" >&2
  exit 1
fi
touch "$STAMP"
