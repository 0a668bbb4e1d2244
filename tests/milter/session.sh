# shellcheck shell=sh
# shellcheck disable=SC2317,SC2154 # not every script uses every helper; dir, sock, log are the caller's
# session.sh - the miltc session helpers of the scripts that drive
# mtasts-milter through our milter client (verdicts.sh, tls_verdicts.sh).
# Not a test itself; sourced after tests/lib/common.sh, with
#   dir   the script's scratch directory ($tmp)
#   sock  the milter's socket (unix:), log  its LogFile
#
#   session NAME          run the miltc script on stdin against $sock: output
#                         in $dir/NAME.out and .err, exit status in .rc
#   has NAME PATTERN      the session's output has a line matching PATTERN
#                         (a grep BRE); prints the session when not
#   logged PATTERN        a milter log line matches PATTERN
#   reloads STATUS N      the log has at least N "event=reload status=STATUS"
#                         lines (use with wait_until after a SIGHUP)
#   head_script           the miltc lines of a connection and its sender

session() {
    "$MILTC" -s "unix:$sock" -t 15000 - >"$dir/$1.out" 2>"$dir/$1.err"
    echo $? >"$dir/$1.rc"
}
has() {
    grep -q -- "$2" "$dir/$1.out" || {
        echo "# $1: no line matching: $2"
        sed 's/^/#   /' "$dir/$1.out" "$dir/$1.err"
        return 1
    }
}
logged() {
    grep -q -- "$1" "$log" || { echo "# milter log has no line matching: $1"; return 1; }
}
reloads() { [ "$(grep -c "event=reload status=$1" "$log" 2>/dev/null)" -ge "$2" ]; }
head_script() {
    printf '%s\n' 'connect mx-out.example.net 127.0.0.1 42000' 'helo mx-out.example.net' \
        'macro M i=QID1' 'mail <sender@example.net>'
}
