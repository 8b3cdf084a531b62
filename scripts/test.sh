#!/usr/bin/env bash
# The one test command: starts PostgreSQL and Redis on loopback (installing them when missing)
# and runs the whole Go test suite against them. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
eval "$(scripts/softhsm.sh)"
eval "$(scripts/browser.sh)"
export CI=${CI:-}
go vet ./...
exec go test -count=1 -timeout 25m "$@" ./...
