#!/bin/sh
# Emits a C file embedding files as string data in a table of
# {name, data, len} records, so build/bin/shunt works from anywhere.
# Usage: embed.sh HEADER STRUCT ARRAY COUNT FILE...
#   e.g. embed.sh rules.h shunt_embedded_pack shunt_embedded_packs shunt_embedded_pack_count *.yaml
set -eu
header=$1 type=$2 array=$3 count=$4
shift 4
echo '#include <stddef.h>'
echo "#include \"$header\""
i=0
for f in "$@"; do
	printf 'static const char blob_%d[] = {' "$i"
	od -An -v -tx1 "$f" | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
	echo '0x00};'
	i=$((i + 1))
done
echo "const struct $type $array[] = {"
i=0
for f in "$@"; do
	printf '\t{"%s", blob_%d, sizeof(blob_%d) - 1},\n' "$(basename "$f")" "$i" "$i"
	i=$((i + 1))
done
[ "$i" -gt 0 ] || echo '{NULL, NULL, 0},'
echo '};'
echo "const size_t $count = $i;"
