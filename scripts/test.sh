#!/usr/bin/env bash
# Runs every test. On a fresh Debian machine it first installs and starts what
# the tests use (MariaDB, memcached, HAProxy, Chromium, shellcheck), all on
# loopback. With CI=true a missing service fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

# A run may leave nothing in the work tree but test-artifacts/. What is
# there already (uncommitted work included) is noted now and allowed.
tree_files() {
	git status --porcelain --ignored --untracked-files=all 2>/dev/null | grep -v '^.. test-artifacts/' | sort || true
}
tree_before=$(tree_files)

scripts/services.sh shellcheck haproxy chromium

export TEST_MYSQL_DSN=${TEST_MYSQL_DSN:-webdemo_test:webdemo_test@tcp(127.0.0.1:3306)/}
export TEST_MEMCACHED=${TEST_MEMCACHED:-127.0.0.1:11211}

echo "== shellcheck"
shellcheck scripts/*.sh .ci/run

echo "== app (with the race detector)"
go test -race -count=1 ./app/...

echo "== fuzz targets, 5 s each (scripts/fuzz.sh runs them longer)"
FUZZTIME=5s scripts/fuzz.sh

echo "== infra (Pulumi mocks)"
go test -count=1 ./infra/...

echo "== local cluster behind HAProxy, and the browser (screenshots in test-artifacts/)"
go test -count=1 ./scripts/...

echo "== nothing left in the work tree"
left=$(comm -13 <(echo "$tree_before") <(tree_files))
if [ -n "$left" ]; then
	echo "The tests left files in the work tree (keep them in a temporary directory):" >&2
	echo "$left" >&2
	exit 1
fi
