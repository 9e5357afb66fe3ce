#!/usr/bin/env bash
# Gene Ontology (full GO BP DAG) and human gene annotations as SQLite files, from Debian's
# r-bioc-go.db and r-bioc-org.hs.eg.db packages (apt-get download + dpkg-deb -x, no root needed
# unless the package lists must be refreshed). scconcepts.genesets.go_bp() reads them.
#
# Destination: $SCCONCEPTS_GO_DB, or .cache/go-db under the repository. Idempotent: returns at once
# when both SQLite files are already there. Where apt-get does not exist, prints a warning and
# exits 0 (everything else still installs; GO-with-DAG enrichment then asks for the files).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${SCCONCEPTS_GO_DB:-$REPO/.cache/go-db}"
GO_SQLITE="GO.db/extdata/GO.sqlite"
ORG_SQLITE="org.Hs.eg.db/extdata/org.Hs.eg.sqlite"
PACKAGES="r-bioc-go.db r-bioc-org.hs.eg.db"

found() { [ -n "$(find "$DEST" -path "*/$1" -print -quit 2>/dev/null)" ]; }

if found "$GO_SQLITE" && found "$ORG_SQLITE"; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "install-go-db.sh: warning: apt-get/dpkg-deb not available; GO BP with its DAG is not installed." \
    "Place GO.sqlite and org.Hs.eg.sqlite (Bioconductor GO.db, org.Hs.eg.db) under $DEST" \
    "or set SCCONCEPTS_GO_DB; other gene-set sources work without them." >&2
  exit 0
fi

known() { apt-cache show "$1" >/dev/null 2>&1; }
missing=0
for pkg in $PACKAGES; do known "$pkg" || missing=1; done
if [ "$missing" -eq 1 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "install-go-db.sh: apt does not know $PACKAGES and refreshing its lists needs root (or sudo)" >&2
      exit 1
    fi
  fi
  echo "install-go-db.sh: refreshing the apt package lists"
  $SUDO apt-get update -qq
fi

mkdir -p "$DEST"
WORK="$(mktemp -d "$DEST/.download.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"  # apt-get download runs as _apt where it can
echo "install-go-db.sh: downloading $PACKAGES into $DEST"
(cd "$WORK" && apt-get download -qq $PACKAGES)
for deb in "$WORK"/*.deb; do
  dpkg-deb -x "$deb" "$WORK/root"
done
for rel in "$GO_SQLITE" "$ORG_SQLITE"; do
  src="$(find "$WORK/root" -path "*/$rel" -print -quit)"
  if [ -z "$src" ]; then
    echo "install-go-db.sh: $rel not found in the downloaded packages" >&2
    exit 1
  fi
  mkdir -p "$DEST/$(dirname "$rel")"
  mv "$src" "$DEST/$rel.partial"
  mv "$DEST/$rel.partial" "$DEST/$rel"
done
echo "install-go-db.sh: GO.sqlite and org.Hs.eg.sqlite are in $DEST"
