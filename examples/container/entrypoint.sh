#!/bin/sh
# The container's entry point: audit EDGEPROOF_TARGET (a target file, or a folder of
# them) into EDGEPROOF_REPORTS; extra arguments go to pytest. A missing target or a
# reports folder this user cannot write is a usage error (exit 4) said in one line,
# before anything is read: a scheduler's log shows the fix, not a traceback.
set -eu
target=${EDGEPROOF_TARGET:-/targets}
reports=${EDGEPROOF_REPORTS:-/reports}
cd "${EDGEPROOF_HOME:-/opt/edgeproof}"

if [ ! -e "$target" ]; then
    echo "edgeproof: no target at $target: mount a target file or a folder of target files there (or set EDGEPROOF_TARGET)" >&2
    exit 4
fi
probe="$reports/.edgeproof-write-test.$$"
if ! mkdir -p "$reports" 2>/dev/null || ! : >"$probe" 2>/dev/null; then
    echo "edgeproof: uid $(id -u) cannot write to $reports: run the container with --user \"\$(id -u):\$(id -g)\" of the folder's owner (Kubernetes: securityContext.fsGroup), or make the folder writable" >&2
    exit 4
fi
rm -f "$probe"
history=${EDGEPROOF_HISTORY:-}
case "$history" in
    /*)
        if ! mkdir -p "$(dirname "$history")" 2>/dev/null || ! [ -w "$(dirname "$history")" ]; then
            echo "edgeproof: uid $(id -u) cannot write the history to $history: mount a writable volume at $(dirname "$history"), or set EDGEPROOF_HISTORY to a PostgreSQL URL" >&2
            exit 4
        fi ;;
esac
exec python -m pytest checks --target "$target" --report-dir "$reports" "$@"
