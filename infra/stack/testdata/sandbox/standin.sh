# shellcheck shell=bash
# Sourced by every stand-in in bin/. Records the call, one line, in the log
# the test reads, and defines what the stand-ins share.
sandbox=/run/sandbox
tool=${0##*/}
{
	printf '%s' "$tool"
	printf ' %q' "$@"
	printf '\n'
} >>"$sandbox/calls.log"

# The test's settings: imds (URL of its fake IMDS) and mysql_port.
# shellcheck disable=SC2034 # used by the stand-ins that source this
imds='' mysql_port=''
# shellcheck source=/dev/null
. "$sandbox/config"

# refuse fails the way the real tool or AWS would: message on stderr, and
# the real exit status.
refuse() {
	local status=$1
	shift
	echo "$tool: $*" >&2
	exit "$status"
}

# installed says whether dnf installed a package, on this or an earlier boot.
installed() { grep -qx "$1" /var/lib/sandbox-dnf/installed 2>/dev/null; }

# active says whether systemctl started a unit since this boot.
active() { [ -e "/run/sandbox-systemd/$1" ]; }
