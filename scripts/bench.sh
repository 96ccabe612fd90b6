#!/bin/sh
# make bench: see tests/bench/bench.py; arguments pass through (make bench ARGS="--runs 5").
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 tests/bench/bench.py "$@"
