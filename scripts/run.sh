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
	# the TLS listeners need a certificate: a self-signed one, made once
	if [ ! -s run/cert.pem ] || [ ! -s run/key.pem ]; then
		(umask 077 && openssl req -x509 -newkey ec \
		    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		    -subj /CN=localhost -keyout run/key.pem -out run/cert.pem \
		    2>/dev/null)
		chmod 0600 run/key.pem
		chmod 0644 run/cert.pem
	fi
	# the example, with the spool, certificate and key under ./run
	sed -e "s|^spool .*|spool            = $PWD/run/spool|" \
	    -e "s|^hostname .*|hostname         = localhost|" \
	    -e "s|^\([[:space:]]*cert[[:space:]]*=[[:space:]]*\)[^ #]*|\1$PWD/run/cert.pem|" \
	    -e "s|^\([[:space:]]*key[[:space:]]*=[[:space:]]*\)[^ #]*|\1$PWD/run/key.pem|" \
	    etc/postern.conf.example > "$conf"
fi
conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")

"$BUILD/postern" -n -f "$conf" >/dev/null
port=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*\([^ #]*\).*/\1/p' "$conf" | head -1)
echo "postern: starting with $conf (Ctrl-C stops it)"
# every listener, with its TLS mode: where to connect
awk '/^listener /{ n = $2; t = "none" }
    n != "" && $1 == "listen" { sub(/#.*/, ""); a = $0; sub(/^[^=]*=[[:space:]]*/, "", a) }
    n != "" && $1 == "tls" { t = $3 }
    n != "" && /^}/ { printf "postern: listener %s on %s (tls %s)\n", n, a, t; n = "" }' "$conf"
cat <<MSG
postern: send a test message with:
    swaks --server ${port%:*} --port ${port##*:} --from you@example.org --to postmaster@example.org
  or look at the queue with:
    $BUILD/posternctl -f $conf queue
MSG
exec "$BUILD/postern" -d -f "$conf"
