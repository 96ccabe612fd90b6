#!/usr/bin/env bash
# make run: the whole suite in the foreground on loopback, with a config made
# from etc/postern.conf.example and a spool under ./run/. Ctrl-C stops it.
#   scripts/run.sh [CONFIG]   use CONFIG instead (make run CONF=FILE)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

if [ "$(id -u)" -ne 0 ]; then
	echo "make run: postern's master must start as root (it creates users, chroots and drops privileges)" >&2
	exit 1
fi

conf=${1:-}
if [ -z "$conf" ]; then
	mkdir -p run
	conf=run/postern.conf
	# the example, with the spool under ./run and a loopback listener
	sed -e "s|^spool .*|spool            = $PWD/run/spool|" \
	    -e "s|^hostname .*|hostname         = localhost|" \
	    etc/postern.conf.example > "$conf"
fi
conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")

"$BUILD/postern" -n -f "$conf" >/dev/null
port=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*\([^ #]*\).*/\1/p' "$conf" | head -1)
cat <<MSG
postern: starting with $conf (Ctrl-C stops it)
postern: send a test message with:
    swaks --server ${port%:*} --port ${port##*:} --from you@example.org --to postmaster@example.org
  or look at the queue with:
    $BUILD/posternctl -f $conf queue
MSG
exec "$BUILD/postern" -d -f "$conf"
