#!/bin/sh
# Emits a C file embedding the given rule packs as string data.
set -eu
echo '#include <stddef.h>'
echo '#include "rules.h"'
i=0
for f in "$@"; do
	printf 'static const char pack_%d[] = {' "$i"
	od -An -v -tx1 "$f" | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
	echo '0x00};'
	i=$((i + 1))
done
echo 'const struct shunt_embedded_pack shunt_embedded_packs[] = {'
i=0
for f in "$@"; do
	printf '\t{"%s", pack_%d, sizeof(pack_%d) - 1},\n' "$(basename "$f")" "$i" "$i"
	i=$((i + 1))
done
[ "$i" -gt 0 ] || echo '{NULL, NULL, 0},'
echo '};'
echo "const size_t shunt_embedded_pack_count = $i;"
