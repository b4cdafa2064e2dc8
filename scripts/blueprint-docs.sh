#!/bin/sh
# blueprint-docs.sh — regenerate the component table of docs/BLUEPRINT.md from the catalog
# (between the catalog:begin/end markers). Usage: scripts/blueprint-docs.sh [AUTOCODER]
set -eu
bin=${1:-build/autocoder}
doc=docs/BLUEPRINT.md
tmp=$(mktemp)
"$bin" validate --catalog-markdown >"$tmp.table"
awk -v table="$tmp.table" '
	/<!-- catalog:end -->/ { while ((getline line < table) > 0) print line; skip = 0 }
	!skip { print }
	/<!-- catalog:begin -->/ { skip = 1 }
' "$doc" >"$tmp"
mv "$tmp" "$doc"
rm -f "$tmp.table"
