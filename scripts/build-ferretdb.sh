#!/usr/bin/env bash
# Builds FerretDB 1.24 (the MongoDB wire-protocol server the tests use when no mongod is around) from
# the Go module pinned in tools/ferretdb, into .bin/ferretdb. Skips the build when the binary is newer
# than the pins. See REFERENCE.md §7 for why it is built as a tool of our own module.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.bin/ferretdb
if [[ -x $out && $out -nt tools/ferretdb/go.sum && $out -nt tools/ferretdb/go.mod && $out -nt tools/ferretdb/main.go ]]; then
  exit 0
fi
command -v go >/dev/null || { echo "build-ferretdb: Go is not installed (need Go >= 1.24)" >&2; exit 1; }
mkdir -p .bin
echo "build-ferretdb: building FerretDB (first build takes a few minutes)…" >&2
cd tools/ferretdb
GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -o ../../$out .
echo "build-ferretdb: built $out" >&2
