#!/usr/bin/env bash
# Runs every fuzz target of every package in the module, each for a short
# time (FUZZTIME, default 10s). Targets are found with `go test -list`, so
# a new Fuzz function is picked up by existing; its committed corpus under
# testdata/fuzz/<FuzzName>/ runs first, as it does in plain `go test`.
# `go test -list` runs a package's TestMain (internal/clienttest's builds
# cmd/caddy), so it runs only in packages whose _test.go files have a line
# starting "func Fuzz": a fuzz target is such a line, as gofmt writes it.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-10s}"
count=0
for pkg in $(go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r path dir; do
	if grep -qs '^func Fuzz' "$dir"/*_test.go; then echo "$path"; fi
done); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target for $fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "${FUZZMINIMIZETIME:-2s}" "$pkg"
		count=$((count + 1))
	done
done
if [ "$count" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz: $count targets passed"
