#!/bin/sh
# Emits a C file embedding the built-in seccomp profiles
# (sandbox/security/*.json) so build/bin/shunt works from anywhere.
set -eu
echo '#include <stddef.h>'
echo '#include "seccomp.h"'
i=0
for f in "$@"; do
	printf 'static const char sec_%d[] = {' "$i"
	od -An -v -tx1 "$f" | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
	echo '0x00};'
	i=$((i + 1))
done
echo 'const struct shunt_embedded_security shunt_embedded_security[] = {'
i=0
for f in "$@"; do
	printf '\t{"%s", sec_%d, sizeof(sec_%d) - 1},\n' "$(basename "$f")" "$i" "$i"
	i=$((i + 1))
done
[ "$i" -gt 0 ] || echo '{NULL, NULL, 0},'
echo '};'
echo "const size_t shunt_embedded_security_count = $i;"
