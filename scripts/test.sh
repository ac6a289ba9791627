#!/usr/bin/env bash
# The whole test suite, as the README gives it and .ci/run runs it: format
# and vet checks, every test with the race detector, then every fuzz target
# briefly (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -race -count=1 ./...
scripts/fuzz.sh
