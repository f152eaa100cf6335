#!/usr/bin/env bash
# The compatibility suite (tests/compat/, issue 22): workflows with and
# without shunt, `N of M steps identical`.
exec bash "$(dirname "$0")/../compat/run.sh"
