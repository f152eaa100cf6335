#!/usr/bin/env bash
# The labelled corpus through `shunt check --batch --json`: prints and
# asserts the benign/risky/catastrophic figures and the throughput.
. "$(dirname "$0")/../lib.sh"
setup_home
CORPUS="$TOP/tests/fixtures/corpus"
mkdir -p "$TEST_TMP/ws"
cd "$TEST_TMP/ws"

count_lines() { grep -cvE '^[[:space:]]*(#|$)' "$1"; }

# decide FILE -> one "ACTION<TAB>LINE" per command line
decide() {
	local json
	json=$("$SHUNT" check --no-interactive --batch "$1" --json 2>"$TEST_TMP/err") || return 1
	paste <(printf '%s\n' "$json" | sed -E 's/.*"action":"([a-z]+)".*/\1/') \
		<(grep -vE '^[[:space:]]*(#|$)' "$1" | sed 's/^[[:space:]]*//')
}

# Each label is KIND.txt plus the family files KIND.d/*.txt.
for kind in benign risky catastrophic; do
	cat "$CORPUS/$kind.txt" $(ls "$CORPUS/$kind.d/"*.txt 2>/dev/null) >"$TEST_TMP/$kind.txt"
done

for kind in benign risky catastrophic; do
	n=$(count_lines "$TEST_TMP/$kind.txt")
	res=$(decide "$TEST_TMP/$kind.txt"); rc=$?
	is "$rc" 0 "batch over $kind.txt exits 0"
	got=$(printf '%s\n' "$res" | grep -c .)
	is "$got" "$n" "$kind: one decision per line"
	case $kind in
	benign)
		good=$(printf '%s\n' "$res" | grep -c '^host	')
		pct=$(awk -v g="$good" -v n="$n" 'BEGIN{printf "%.1f", 100*g/n}')
		diag "benign: $good/$n decide host ($pct %)"
		printf '%s\n' "$res" | grep -v '^host	' | sed 's/^/#   not host: /'
		ok "benign: >= 99 % decide host ($pct %)" -- awk -v g="$good" -v n="$n" 'BEGIN{exit !(g*100 >= 99*n)}'
		;;
	risky)
		good=$(printf '%s\n' "$res" | grep -vc '^host	')
		pct=$(awk -v g="$good" -v n="$n" 'BEGIN{printf "%.1f", 100*g/n}')
		diag "risky: $good/$n decide non-host ($pct %)"
		printf '%s\n' "$res" | grep '^host	' | sed 's/^/#   host: /'
		ok "risky: >= 97 % decide non-host ($pct %)" -- awk -v g="$good" -v n="$n" 'BEGIN{exit !(g*100 >= 97*n)}'
		;;
	catastrophic)
		bad=$(printf '%s\n' "$res" | grep -vE '^(prompt|block)	')
		good=$((n - $(printf '%s' "$bad" | grep -c .)))
		diag "catastrophic: $good/$n decide prompt or block"
		[ -n "$bad" ] && printf '%s\n' "$bad" | sed 's/^/#   offender: /'
		is "$good" "$n" "catastrophic: every line decides prompt or block"
		;;
	esac
done

# Throughput of one batch run over the whole corpus (printed, not asserted).
cat "$TEST_TMP"/benign.txt "$TEST_TMP"/risky.txt "$TEST_TMP"/catastrophic.txt >"$TEST_TMP/all.txt"
total=$(count_lines "$TEST_TMP/all.txt")
t0=$(date +%s%N)
"$SHUNT" check --no-interactive --batch "$TEST_TMP/all.txt" --json >/dev/null 2>&1
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -gt 0 ] || ms=1
diag "throughput: $total lines in $ms ms = $(( total * 1000 / ms )) lines/s (one process, one batch)"
ok "corpus holds at least 300 labelled lines ($total)" -- test "$total" -ge 300

done_testing
