#!/usr/bin/env bash
# Installs (with apt-get, when missing) and starts the services the tests and
# the local cluster need, all on loopback: MariaDB, memcached, plus any extra
# Debian packages named as arguments (haproxy, chromium, shellcheck).
#
# Usage: scripts/services.sh [--install-only] [extra-package ...]
# Prints nothing on success beyond what it did. Safe to run again.
set -euo pipefail

install_only=false
if [ "${1:-}" = --install-only ]; then
	install_only=true
	shift
fi

MEMCACHED_ADDR=${MEMCACHED_ADDR:-127.0.0.1:11211}

# package name -> command it provides
declare -A provides=([mariadb-server]=mariadbd [memcached]=memcached [haproxy]=haproxy
	[chromium]=chromium [shellcheck]=shellcheck [wrk]=wrk)

missing=()
for pkg in mariadb-server memcached "$@"; do
	cmd=${provides[$pkg]:-$pkg}
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "Installing ${missing[*]} with apt-get…"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "Missing packages: ${missing[*]}. Install them (Debian: sudo apt-get install ${missing[*]}) and run this again." >&2
		exit 1
	fi
fi

if $install_only; then
	exit 0
fi

# detached NAME COMMAND… starts a command that may outlive this script in a
# new session, with output to a log file and no other descriptor of ours: a
# daemon that inherited a caller's lock file or pipe would hold it for good.
detached() {
	local log="${TMPDIR:-/tmp}/web-demo-$1.log"
	shift
	(
		for fd_path in /proc/"$BASHPID"/fd/*; do
			fd=${fd_path##*/}
			if [ "$fd" -gt 2 ]; then
				exec {fd}>&-
			fi
		done
		exec setsid "$@" </dev/null >>"$log" 2>&1
	) || { echo "$1 failed; see $log" >&2; return 1; }
}

# MariaDB: the packaged service, which listens on 127.0.0.1 only.
if ! mariadb-admin --user=root ping >/dev/null 2>&1; then
	echo "Starting MariaDB…"
	if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/mariadb ]; then
		detached mariadb service mariadb start
	else
		detached mariadb mysqld_safe --bind-address=127.0.0.1 &
	fi
	for _ in $(seq 60); do
		mariadb-admin --user=root ping >/dev/null 2>&1 && break
		sleep 0.5
	done
	mariadb-admin --user=root ping >/dev/null ||
		{ echo "MariaDB did not start; see ${TMPDIR:-/tmp}/web-demo-mariadb.log" >&2; exit 1; }
fi

# The test user may create and drop only webdemo_test_* databases. (The
# local cluster runs a throwaway MariaDB of its own.)
mariadb --user=root <<'SQL'
CREATE USER IF NOT EXISTS 'webdemo_test'@'localhost' IDENTIFIED BY 'webdemo_test';
CREATE USER IF NOT EXISTS 'webdemo_test'@'127.0.0.1' IDENTIFIED BY 'webdemo_test';
GRANT ALL ON `webdemo\_test\_%`.* TO 'webdemo_test'@'localhost';
GRANT ALL ON `webdemo\_test\_%`.* TO 'webdemo_test'@'127.0.0.1';
SQL

# memcached: our own daemon on loopback, TCP only.
host=${MEMCACHED_ADDR%:*} port=${MEMCACHED_ADDR##*:}
if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
	echo "Starting memcached on $MEMCACHED_ADDR…"
	detached memcached memcached -d -u nobody -l "$host" -p "$port" -U 0 -m 128
	for _ in $(seq 40); do
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break
		sleep 0.25
	done
	(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null ||
		{ echo "memcached did not start on $MEMCACHED_ADDR; see ${TMPDIR:-/tmp}/web-demo-memcached.log" >&2; exit 1; }
fi
