#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_<folder>_<what>.c with libFuzzer + ASan + UBSan,
# linked with lib/ and that folder (less main.c).
#   fuzz.sh build          build them into build-fuzz/
#   fuzz.sh smoke          build, then run each for FUZZ_SECONDS (default 10)
#   fuzz.sh run NAME [S]   run one for S seconds (default 300)
set -eu
cd "$(dirname "$0")/.."
OUT=build-fuzz
CC=${FUZZ_CC:-clang}
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Ilib $(pkg-config --cflags libevent libunbound openssl)"
mkdir -p "$OUT"

libs_for() {
	case "$1" in
	queue-mgr) echo "-ldb-5.3" ;;
	resolver) pkg-config --libs libunbound ;;
	ctl) echo "-ldb-5.3 $(pkg-config --libs libunbound)" ;;
	smtpd|deliver|master) pkg-config --libs openssl ;;
	*) ;;
	esac
}

build() {
	local src name word folder objs
	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		word=$(echo "$name" | cut -d_ -f2)
		case "$word" in
		queue) folder=queue-mgr ;;
		lib) folder= ;;
		*) folder=$word ;;
		esac
		objs=""
		if [ -n "$folder" ]; then
			for f in "$folder"/*.c; do
				[ "$(basename "$f")" = main.c ] || objs="$objs $f"
			done
		fi
		# posternctl also links other folders' code (EXTRA_ctl, Makefile)
		if [ "$folder" = ctl ]; then
			objs="$objs queue-mgr/record.c queue-mgr/spool.c queue-mgr/qid.c"
			objs="$objs resolver/dnsmsg.c deliver/route.c"
		fi
		echo "FUZZ build $name"
		# shellcheck disable=SC2086
		$CC $CFLAGS -o "$OUT/$name" "$src" lib/*.c $objs \
			$(pkg-config --libs libevent) -lbsd $(libs_for "$folder")
	done
}

case "${1:-build}" in
build)
	build
	;;
smoke)
	build
	for f in "$OUT"/fuzz_*; do
		[ -x "$f" ] || continue
		echo "FUZZ run $(basename "$f")"
		name=$(basename "$f")
		mkdir -p "$OUT/corpus/$name"
		seeds=""
		[ -d "tests/fuzz/corpus/$name" ] && seeds="tests/fuzz/corpus/$name"
		# shellcheck disable=SC2086
		"$f" -max_total_time="${FUZZ_SECONDS:-10}" -rss_limit_mb=2048 \
			"$OUT/corpus/$name" $seeds 2>&1 | tail -3
		[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "FUZZ FAILED $(basename "$f")"; exit 1; }
	done
	;;
run)
	build
	mkdir -p "$OUT/corpus/$2"
	"$OUT/$2" -max_total_time="${3:-300}" "$OUT/corpus/$2"
	;;
*)
	echo "usage: fuzz.sh build|smoke|run NAME [SECONDS]" >&2
	exit 2
	;;
esac
