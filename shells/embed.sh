#!/bin/sh
# Emits a C file embedding the shell hook scripts (shunt init prints them).
# Usage: embed.sh shunt.bash shunt.zsh > shells_embedded.c
set -eu
echo '#include <stddef.h>'
for f in "$@"; do
	name=$(basename "$f" | tr -c 'a-zA-Z0-9\n' '_')
	printf 'const char shunt_embedded_%s[] = {' "$name"
	# comment lines (all but the first) are dropped: every interactive
	# shell parses this at start-up, and a third of it is comments
	sed '1!{/^[[:space:]]*#/d;}' "$f" | od -An -v -tx1 | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
	echo '0x00};'
done
