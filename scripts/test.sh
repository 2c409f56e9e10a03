#!/usr/bin/env bash
# Runs every test. On a fresh Debian machine it first installs and starts what
# the tests use (MariaDB, memcached, HAProxy, Chromium, shellcheck), all on
# loopback. With CI=true a missing service fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh shellcheck haproxy chromium

export TEST_MYSQL_DSN=${TEST_MYSQL_DSN:-webdemo_test:webdemo_test@tcp(127.0.0.1:3306)/}
export TEST_MEMCACHED=${TEST_MEMCACHED:-127.0.0.1:11211}

echo "== shellcheck"
shellcheck scripts/*.sh .ci/run

echo "== app (with the race detector)"
go test -race -count=1 ./app/...

echo "== infra (Pulumi mocks)"
go test -count=1 ./infra/...

echo "== local cluster behind HAProxy, and the browser (screenshots in test-artifacts/)"
go test -count=1 ./scripts/...
