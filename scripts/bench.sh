#!/usr/bin/env bash
# Measures the front page side by side, in one run, with wrk at 32
# connections on this machine: nginx (Debian's, started here on loopback)
# serving the app's own front page as a static file, then the app in each
# configuration, each listing the same 10 photos. Then uploads per second:
# 16 logged-in sessions sending a real ~200 KB JPEG, checked afterwards
# (every acknowledged upload must be recorded and its file stored). For
# each it prints requests per second, the ratio to nginx in the same round,
# p50 and p99 latency, and the app's peak resident memory (VmHWM). It runs
# the whole set twice, so the spread is visible.
#
# Usage: scripts/bench.sh [seconds per run, default 10] [rounds, default 2]
# Needs root on Debian to install wrk and nginx if missing (see
# scripts/services.sh), and starts MariaDB and memcached like the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
rounds=${2:-2}

scripts/services.sh wrk nginx >/dev/null
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
chmod 755 "$work" # nginx's workers may run as another user
app_pid=
nginx_pid=
stop_app() {
	if [ -n "$app_pid" ]; then
		kill "$app_pid" 2>/dev/null || true
		wait "$app_pid" 2>/dev/null || true
		app_pid=
	fi
}
stop_nginx() {
	if [ -n "$nginx_pid" ]; then
		kill "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
		nginx_pid=
	fi
}
cleanup() {
	stop_app
	stop_nginx
	mariadb --user=root -e 'DROP DATABASE IF EXISTS webdemo_test_bench' 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/webdemo" ./app
go build -o "$work/uploadbench" ./scripts/uploadbench
port=18090
nginx_port=18091
base="http://127.0.0.1:$port"
dsn='webdemo_test:webdemo_test@tcp(127.0.0.1:3306)/webdemo_test_bench'
# A 16×16 PNG, listed ten times.
printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAIElEQVR4nGJhYGgQYGAgHrGACFLAqIZRDUNHAyAAAP//JzoCodSoSlkAAAAASUVORK5CYII=' | base64 -d >"$work/photo.png"

start() { # env assignments…
	stop_app
	env -i PATH="$PATH" ADDR="127.0.0.1:$port" SQLITE_PATH="$work/$RANDOM.db" UPLOAD_DIR="$work/uploads" \
		"$@" "$work/webdemo" >"$work/app.log" 2>&1 &
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

start_nginx() { # serves $work/www/index.html at /
	stop_nginx
	mkdir -p "$work/nginx"
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	server {
		listen 127.0.0.1:$nginx_port;
		root $work/www;
		location / { default_type "text/html; charset=utf-8"; }
	}
}
EOF
	"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
	nginx_pid=$!
	for _ in $(seq 50); do
		curl -fs "http://127.0.0.1:$nginx_port/" -o /dev/null && return 0
		sleep 0.1
	done
	echo "nginx did not start:" >&2
	cat "$work/nginx/error.log" >&2
	exit 1
}

# to_ms converts wrk's latency (850.00us, 1.20ms, 1.01s) to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
		printf "%.2f", n }'
}

nginx_rps=
measure() { # label url
	local out rps p50 p99 rss ratio
	wrk -t2 -c32 -d1s "$2" >/dev/null # warm up
	out=$(wrk -t2 -c32 -d"${duration}s" --latency "$2")
	if grep -q 'Non-2xx' <<<"$out"; then
		echo "$1: some answers were not 2xx:" >&2
		echo "$out" >&2
		exit 1
	fi
	rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	rss=-
	if [ -n "$app_pid" ]; then
		rss="$(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$app_pid/status")"
	fi
	[ -n "$nginx_rps" ] || nginx_rps=$rps
	ratio=$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a / b}')
	printf '%-46s %8s %6s× %8s %8s %9s\n' "$1" "$rps" "$ratio" "$p50" "$p99" "$rss"
}

echo "$(date -u +%F), wrk -t2 -c32 -d${duration}s on $(nproc) cores; every front page lists the same 10 photos"
for round in $(seq "$rounds"); do
	mariadb --user=root -e 'DROP DATABASE IF EXISTS webdemo_test_bench; CREATE DATABASE webdemo_test_bench'
	rm -rf "$work/uploads" # the images of the rows just dropped
	prefix="bench$RANDOM$round:"
	level4=(DB_DRIVER=mysql MYSQL_DSN="$dsn" PAGE_CACHE=memcached MEMCACHED_SERVERS=127.0.0.1:11211
		MEMCACHED_PREFIX="$prefix")

	# The page nginx serves: the app's own level-4 front page, a cache hit.
	start "${level4[@]}"
	seed
	curl -fs "$base/" -o /dev/null
	mkdir -p "$work/www"
	curl -fs "$base/" -o "$work/www/index.html"
	stop_app

	echo
	echo "round $round"
	printf '%-46s %8s %7s %8s %8s %9s\n' "front page" "req/s" "×nginx" "p50 ms" "p99 ms" "peak RSS"
	nginx_rps=
	start_nginx
	measure "nginx, the same bytes as a static file" "http://127.0.0.1:$nginx_port/"
	stop_nginx

	start "${level4[@]}"
	measure "MariaDB + memcached, cache hit (level 4)" "$base/"
	start DB_DRIVER=mysql MYSQL_DSN="$dsn" PAGE_CACHE=memory
	measure "MariaDB + PAGE_CACHE=memory, hit" "$base/"
	start DB_DRIVER=mysql MYSQL_DSN="$dsn"
	curl -fs "$base/" | grep -q 'Fetched 10 records from the database' ||
		{ echo "without a cache the page must read the database and say so" >&2; exit 1; }
	measure "MariaDB, no cache (levels 1-3)" "$base/"
	start
	seed
	measure "SQLite, no cache (the default)" "$base/"
	key=$(curl -fs "$base/" | grep -o '[0-9a-f]\{32\}\.png' | head -1)
	measure "an uploaded image, from disk" "$base/images/$key"

	# 16 sessions log in at once from one address: above the default
	# login throttle, which is not what this measures.
	start DB_DRIVER=mysql MYSQL_DSN="$dsn" LOGIN_ATTEMPTS_PER_MINUTE=1000
	printf 'uploads, MariaDB + disk: '
	"$work/uploadbench" -url "$base" -dsn "$dsn" -upload-dir "$work/uploads" -sessions 16 -duration "${duration}s"
	printf 'peak RSS after uploads: %s\n' "$(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$app_pid/status")"
	stop_app
done
