#!/usr/bin/env bash
# Runs every Fuzz* target in the repository for FUZZTIME each (default 10m;
# a whole number of s, m or h), or only those in the packages given
# (scripts/fuzz.sh ./app/config). A failing input is written to the
# package's testdata/fuzz/, where every later `go test` replays it: fix the
# bug, and commit the file with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10m}
case $fuzztime in
*s) seconds=${fuzztime%s} ;;
*m) seconds=$((${fuzztime%m} * 60)) ;;
*h) seconds=$((${fuzztime%h} * 3600)) ;;
*) echo "FUZZTIME=$fuzztime: want a whole number of s, m or h, such as 10m" >&2; exit 2 ;;
esac
# go test's own -timeout (10m by default) must outlast the fuzzing.
timeout=$((seconds + 300))s

if [ $# -eq 0 ]; then
    # Only packages whose tests declare a fuzz target; listing every
    # package would compile the Pulumi program's tests for nothing.
    mapfile -t packages < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u)
else
    packages=("$@")
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
for pkg in "${packages[@]}"; do
    for name in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
        echo "== $name ($pkg) for $fuzztime"
        if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -timeout="$timeout" "$pkg" 2>&1 | tee "$log"; then
            continue
        fi
        # Go 1.26's fuzzing coordinator can report its own -fuzztime
        # deadline as a failure (go.dev/issue/75804, fixed in Go 1.27). Only
        # that message, with no failing input written, is that race.
        if grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
            echo "== $name: ignoring Go's fuzztime deadline race (go.dev/issue/75804); no failing input"
            continue
        fi
        failed+=("$name ($pkg)")
    done
done
if [ ${#failed[@]} -gt 0 ]; then
    printf 'fuzzing failed: %s\n' "${failed[@]}" >&2
    exit 1
fi
