#!/usr/bin/env bash
# Runs every benchmark in tests/bench (make bench).
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
rc=0
for b in "$DIR"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b" .sh)"
	bash "$b" || rc=1
done
exit $rc
