#!/bin/sh
# Installs the Debian packages postern needs to build and test, if missing.
# Silent when everything is there; runs apt-get update once before installing.
set -eu

PKGS="build-essential pkg-config clang libssl-dev libbsd-dev libdb5.3-dev
libpam0g-dev libevent-dev libunbound-dev libcmocka-dev libpam-pwdfile
python3 python3-pytest python3-aiosmtpd swaks unbound openssl db5.3-util
strace procps iproute2"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# no service starts inside package scripts: tests start their own unbound
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.postern
chmod 755 /usr/sbin/policy-rc.d.postern
had_policy=0
[ -e /usr/sbin/policy-rc.d ] && had_policy=1
[ $had_policy -eq 0 ] && cp /usr/sbin/policy-rc.d.postern /usr/sbin/policy-rc.d
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
[ $had_policy -eq 0 ] && rm -f /usr/sbin/policy-rc.d
rm -f /usr/sbin/policy-rc.d.postern
exit 0
