#!/bin/sh
# Watchdog of tests/e2e/postfix.sh: if the test script dies without
# cleaning up (killed with SIGKILL, say), stop the private Postfix and the
# milter it started, so that no Postfix outlives the test.  The script kills
# this watchdog first, by PID, when it cleans up itself.  Started under
# setsid, so that a signal to the script's process group does not reach it.
#
# Usage: watchdog.sh OWNER-PID LIFETIME MASTER-PID-FILE MILTER-PID-FILE DIR KEEP
#   OWNER-PID        the test script
#   LIFETIME         seconds after which everything is stopped anyway
#   MASTER-PID-FILE  Postfix's $queue_directory/pid/master.pid
#   MILTER-PID-FILE  the milter's PidFile (rewritten at each restart)
#   DIR              the script's scratch directory, removed at the end
#   KEEP             1 to leave DIR in place (E2E_KEEP=1)
owner=$1 life=$2 master_pid_file=$3 milter_pid_file=$4 dir=$5 keep=$6

# alive PID: the process exists and is not a zombie.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$st" != Z ]
}

# pid_in FILE NAME: the pid in FILE, if that process is called NAME.
pid_in() {
    p=$(sed -n '1{s/[^0-9]//g;p;}' "$1" 2>/dev/null)
    [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p"
}

start=$(date +%s)
while alive "$owner" && [ $(($(date +%s) - start)) -lt "$life" ]; do
    sleep 1
done
master=$(pid_in "$master_pid_file" master)
milter=$(pid_in "$milter_pid_file" mtasts-milter)
# The master leads its own process group (it calls setsid): TERM makes it
# stop its children; the group gets KILL if anything is left after 20 s
# (the milter can take a few seconds: libmilter polls for its stop flag).
for p in $master $milter; do kill -TERM "$p" 2>/dev/null; done
i=0
while [ $i -lt 200 ]; do
    left=
    for p in $master $milter; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
    i=$((i + 1))
done
[ -n "$master" ] && kill -KILL -- "-$master" 2>/dev/null
for p in $left; do kill -KILL "$p" 2>/dev/null; done
[ "$keep" = 1 ] || [ -z "$dir" ] || rm -rf "$dir"
exit 0
