#!/usr/bin/env bash
# Runs vitest with the clock moved by libfaketime (Debian: apt-get install faketime) so that it reads <instant> at
# the start, for the test run and every process it starts (test/support/processes.ts passes the clock on). The
# shift is an offset, not a fixed start: every process, whenever it starts, agrees on the time. libfaketime before
# 0.9.11 (Debian 12 has 0.9.10) shares a semaphore between processes that a process killed at the wrong moment
# leaves locked, hanging every process that shares it: services get their own (test/support/processes.ts), and
# FAKETIME_DISABLE_SHM turns the sharing off where the library knows it.
#   test/at-instant.sh 2028-02-29T23:58:00Z test/e2e            TZ=Europe/Berlin test/at-instant.sh … to add a zone
set -euo pipefail
cd "$(dirname "$0")/.."
instant=$1
shift
library=${LIBFAKETIME:-/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1}
[[ -f "$library" ]] || { echo "libfaketime is not at $library (apt-get install faketime, or set LIBFAKETIME)" >&2; exit 2; }
offset=$(( $(date -d "$instant" +%s) - $(date +%s) ))
export PATH="$PWD/node_modules/.bin:$PATH"
export LD_PRELOAD="$library" FAKETIME="$( ((offset >= 0)) && echo "+$offset" || echo "$offset" )" FAKETIME_NO_CACHE=1
export FAKETIME_DISABLE_SHM=1
echo "clock moved by ${FAKETIME} s: it is now $(date -u +%Y-%m-%dT%H:%M:%SZ)${TZ:+ (TZ=$TZ, local $(date +%H:%M:%S%z))}"
exec npx vitest run "$@"
