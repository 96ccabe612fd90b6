#!/bin/sh
# make bench: see tests/bench/bench.py; arguments pass through
# (make bench ARGS="--runs 5 --messages 10000"). With --stress it runs the
# kill -9 durability tests with more rounds instead (--stress-rounds N).
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 tests/bench/bench.py "$@"
