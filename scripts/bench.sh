#!/usr/bin/env bash
# Measures the front page with wrk (32 connections, as in the reference
# figures for the original PHP demo) on this machine, in three set-ups, and
# two baselines: a handler that does no work, and an uploaded image served
# from disk. Prints requests per second.
#
# Usage: scripts/bench.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}

scripts/services.sh wrk >/dev/null
work=$(mktemp -d)
app_pid=
stop_app() {
	if [ -n "$app_pid" ]; then
		kill "$app_pid" 2>/dev/null || true
		wait "$app_pid" 2>/dev/null || true
		app_pid=
	fi
}
cleanup() {
	stop_app
	mariadb --user=root -e 'DROP DATABASE IF EXISTS webdemo_test_bench' 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/webdemo" ./app
port=18090
base="http://127.0.0.1:$port"
# A 16×16 PNG.
printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAIElEQVR4nGJhYGgQYGAgHrGACFLAqIZRDUNHAyAAAP//JzoCodSoSlkAAAAASUVORK5CYII=' | base64 -d > "$work/photo.png"

start() { # env assignments…
	stop_app
	env -i PATH="$PATH" ADDR="127.0.0.1:$port" SQLITE_PATH="$work/$RANDOM.db" UPLOAD_DIR="$work/uploads" "$@" \
		"$work/webdemo" >"$work/app.log" 2>&1 &
	app_pid=$!
	for _ in $(seq 100); do
		curl -fs "$base/healthz" >/dev/null && return 0
		sleep 0.1
	done
	echo "the app did not start:" >&2
	cat "$work/app.log" >&2
	exit 1
}

seed() { # ten photos, so the page lists a full page
	local jar="$work/cookies"
	curl -fs -c "$jar" -H 'Sec-Fetch-Site: same-origin' -d name=bench "$base/login" -o /dev/null
	for _ in $(seq 10); do
		curl -fs -b "$jar" -H 'Sec-Fetch-Site: same-origin' -F "photo=@$work/photo.png" "$base/upload" -o /dev/null
	done
}

measure() { # label url
	local rps
	rps=$(wrk -t2 -c32 -d"${duration}s" "$2" | awk '/Requests\/sec/ {print $2}')
	printf '%-48s %10s req/s\n' "$1" "$rps"
}

mariadb --user=root -e 'CREATE DATABASE IF NOT EXISTS webdemo_test_bench'
dsn='webdemo_test:webdemo_test@tcp(127.0.0.1:3306)/webdemo_test_bench'

echo "wrk -t2 -c32 -d${duration}s on $(nproc) cores; front page with 10 photos"
start
seed
measure "front page, SQLite, no cache (default)" "$base/"
key=$(curl -fs "$base/" | grep -o '[0-9a-f]\{32\}\.png' | head -1)
measure "an uploaded image, from disk" "$base/images/$key"
measure "/healthz (no work: the server's ceiling)" "$base/healthz"

start DB_DRIVER=mysql MYSQL_DSN="$dsn"
seed
measure "front page, MariaDB, no cache (levels 1-3)" "$base/"

start DB_DRIVER=mysql MYSQL_DSN="$dsn" PAGE_CACHE=memcached MEMCACHED_SERVERS=127.0.0.1:11211 \
	MEMCACHED_PREFIX="bench$RANDOM:"
curl -fs "$base/" -o /dev/null
measure "front page, MariaDB + memcached hit (level 4)" "$base/"
