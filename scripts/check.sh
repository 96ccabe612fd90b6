#!/usr/bin/env bash
# make check: -Werror build, unit tests (cmocka), integration tests (pytest,
# real daemons as root), the integration tests again under ASan+UBSan, and a
# short run of every fuzz target. Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
JOBS=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
mkdir -p build
LOG=build/check.log
: > "$LOG"

say() { printf '%s\n' "$*"; }
fail_step() { say "FAILED: $1"; failed=$((failed + 1)); }

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)"
count_cmocka() {
	local out="$1" rc="$2" p f
	p=$(grep -Eo '\[  PASSED  \] [0-9]+' "$out" | grep -Eo '[0-9]+$' | tail -1)
	f=$(grep -Eo '\[  FAILED  \] [0-9]+' "$out" | grep -Eo '[0-9]+$' | tail -1)
	p=${p:-0}
	f=${f:-0}
	# a crash before the summary still counts as a failure
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
}

# pytest's junit XML: tests, failures, errors, skipped
count_junit() {
	local xml="$1" t
	if [ ! -s "$xml" ]; then
		failed=$((failed + 1))
		return
	fi
	t=$($PY - "$xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else r.findall("testsuite")
t = f = s = 0
for x in suites:
    t += int(x.get("tests", 0)); s += int(x.get("skipped", 0))
    f += int(x.get("failures", 0)) + int(x.get("errors", 0))
print(t - f - s, f)
PYEOF
)
	passed=$((passed + ${t% *}))
	failed=$((failed + ${t#* }))
}

say "== build (warnings are errors)"
if ! make -s -j"$JOBS" all >>"$LOG" 2>&1; then
	tail -40 "$LOG"
	fail_step "build"
	say "$passed passed, $failed failed"
	exit 1
fi

say "== unit tests"
if make -s -j"$JOBS" unit-build >>"$LOG" 2>&1; then
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		out=$(mktemp)
		"$t" >"$out" 2>&1
		rc=$?
		count_cmocka "$out" "$rc"
		if [ "$rc" -ne 0 ]; then
			say "-- $t failed:"
			grep -E '^\[  (FAILED|ERROR) |Error|error' "$out" | head -20
		fi
		rm -f "$out"
	done
else
	tail -40 "$LOG"
	fail_step "unit test build"
fi
say "   so far: $passed passed, $failed failed"

say "== integration tests"
# short temp paths: the control socket's path must fit in sun_path
POSTERN_BUILD=build $PY -m pytest -q -p no:cacheprovider tests/integration \
	--basetemp=/tmp/postern-check --junitxml=build/integration.xml 2>&1 | tail -25
count_junit build/integration.xml
say "   so far: $passed passed, $failed failed"

say "== sanitizer run (ASan+UBSan) of the integration tests"
if make -s -j"$JOBS" BUILD=build-asan SAN=1 all >>"$LOG" 2>&1; then
	mkdir -p build-asan
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=stderr \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	POSTERN_BUILD=build-asan $PY -m pytest -q -p no:cacheprovider tests/integration \
		--basetemp=/tmp/postern-check-asan --junitxml=build-asan/integration.xml 2>&1 | tail -25
	count_junit build-asan/integration.xml
	# a sanitizer report in any daemon's log is a failure even if the test passed
	if grep -rlE 'ERROR: AddressSanitizer|runtime error:' /tmp/postern-check-asan \
	    2>/dev/null | grep -q .; then
		fail_step "sanitizer reports in daemon logs:"
		grep -rhE -A3 'ERROR: AddressSanitizer|runtime error:' /tmp/postern-check-asan | head -40
	fi
else
	tail -40 "$LOG"
	fail_step "sanitizer build"
fi
say "   so far: $passed passed, $failed failed"

say "== fuzz targets (short runs)"
if scripts/fuzz.sh smoke >>"$LOG" 2>&1; then
	n=$(ls build-fuzz/fuzz_* 2>/dev/null | wc -l)
	passed=$((passed + n))
	say "   $n fuzz targets ran clean"
else
	grep -E '^(FUZZ|==)' "$LOG" | tail -20
	fail_step "fuzz smoke run"
fi

say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
