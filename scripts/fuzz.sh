#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (each `func FuzzXxx` in a *_test.go file), one after
# the other, each for the same duration, and prints per target its executions and any crasher.
# Exit status: 0 when no target failed, 1 when one did (a crasher, a failing seed, a build error),
# 2 for a usage error.
#
#   scripts/fuzz.sh [-t DURATION] [-m DURATION] [-l] [REGEXP]
#
#   -t DURATION  fuzzing time per target (go test -fuzztime; default 60s, or $FUZZTIME); a count
#                such as 500000x runs that many inputs instead
#   -m DURATION  time to minimise a crasher (-fuzzminimizetime; default 5s)
#   -l           list the targets and exit
#   REGEXP       only the targets whose "package.FuzzName" matches (grep -E), e.g. 'rsp\.' or 'Parse$'
#
# A crasher is written by go test to PACKAGE/testdata/fuzz/FuzzName/<hash>, where it becomes a
# seed of the ordinary test run: fix the bug, then commit the file as its regression test.
# Logs are kept in $FUZZ_LOG_DIR (default: a temporary directory, printed at the end). Each
# go test gets -timeout $FUZZ_TEST_TIMEOUT (default 30m): raise it for longer fuzzing times.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" when a
# duration -fuzztime ends (golang/go#75804, fixed in Go 1.27), mostly on a loaded machine. Such a
# run wrote no crasher and is reported as "ok (deadline race)", not as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-60s}
minimize=5s
list=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
while getopts "t:m:lh" opt; do
  case $opt in
    t) fuzztime=$OPTARG ;;
    m) minimize=$OPTARG ;;
    l) list=1 ;;
    h) usage 0 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
filter=${1:-}

# Every target as "dir<TAB>name", from the test files of the module (not testdata or vendor).
targets=$(grep -rE --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor --exclude-dir=.git \
    -o '^func Fuzz[A-Za-z0-9_]*\(' . |
  sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1\t\2#; s#^\./[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#.\t\1#' |
  sort -u)
if [ -n "$filter" ]; then
  targets=$(printf '%s\n' "$targets" | awk -F'\t' -v re="$filter" '($1 "." $2) ~ re')
fi
if [ -z "$targets" ]; then
  echo "fuzz: no fuzz target${filter:+ matches $filter}" >&2
  exit 1
fi
if [ $list = 1 ]; then
  printf '%s\n' "$targets" | awk -F'\t' '{ printf "%s.%s\n", $1, $2 }'
  exit 0
fi

logdir=${FUZZ_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/smdpp-fuzz.XXXXXX")}
mkdir -p "$logdir"
n=$(printf '%s\n' "$targets" | wc -l)
echo "fuzz: $n targets, $fuzztime each (minimise $minimize); logs in $logdir" >&2

failed=0
summary=()
i=0
while IFS=$'\t' read -r dir name; do
  i=$((i + 1))
  label="$dir.$name"
  log="$logdir/$(printf '%s' "$label" | tr '/' '_').log"
  echo "fuzz: [$i/$n] $label" >&2
  start=$(date +%s)
  status=0
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" \
    -timeout="${FUZZ_TEST_TIMEOUT:-30m}" "./$dir" >"$log" 2>&1 || status=$?
  secs=$(( $(date +%s) - start ))
  # go test prints "fuzz: elapsed: 3s, execs: 123456 (41152/sec), new interesting: …" every 3 s.
  execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{ print $2 }' || true)
  execs=${execs:--}
  crasher=$(grep -oE 'Failing input written to [^ ]+' "$log" | tail -1 | sed 's/^Failing input written to //' || true)
  if [ $status = 0 ]; then
    result=ok
  elif [ -z "$crasher" ] && grep -qE "^--- FAIL: $name " "$log" &&
    [ "$(grep -cvE '^(fuzz: elapsed|warning: starting with empty corpus|--- FAIL: |    context deadline exceeded$|FAIL|exit status 1$)' "$log")" = 0 ]; then
    result="ok (deadline race)" # golang/go#75804: the log holds nothing but progress and that error
  else
    failed=$((failed + 1))
    if [ -n "$crasher" ]; then
      result="CRASHER $dir/$crasher"
    else
      result="FAIL (see $log)"
    fi
    echo "fuzz: $label failed; the end of its log:" >&2
    tail -n 30 "$log" | sed 's/^/    /' >&2
  fi
  line=$(printf '%-44s %12s %7s  %s' "$label" "$execs" "${secs}s" "$result")
  summary+=("$line")
  echo "fuzz: $line" >&2
done <<<"$targets"

echo
printf '%-44s %12s %7s  %s\n' target execs time result
printf '%s\n' "${summary[@]}"
echo
if [ $failed -gt 0 ]; then
  echo "fuzz: $failed of $n targets failed; logs in $logdir" >&2
  exit 1
fi
echo "fuzz: all $n targets ran without a failure; logs in $logdir" >&2
