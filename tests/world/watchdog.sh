#!/bin/sh
# Watchdog of the local test world (started by world_start in world.sh).
# If the test script that started the world dies without calling world_stop
# (killed with SIGKILL, say), stop the world's processes and remove its
# directory, so nothing outlives the test for long.  world_stop kills this
# watchdog first, by PID.
#
# Usage: watchdog.sh OWNER-PID WORLD-DIR KEEP PID...
#   KEEP is 1 to leave WORLD-DIR in place (WORLD_KEEP=1).
owner=$1 dir=$2 keep=$3
shift 3

# alive PID: the process exists and is not a zombie.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$st" != Z ]
}

while alive "$owner"; do
    sleep 1
done
for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
i=0
while [ $i -lt 100 ]; do
    left=
    for p in "$@"; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
    i=$((i + 1))
done
# Each PID is a "timeout" wrapper that leads its own process group.
for p in $left; do kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
[ "$keep" = 1 ] || rm -rf "$dir"
exit 0
