#!/bin/sh
# Guards the command-line surface of mtasts(1): --version prints
# "mtasts (mtasts-milter) X.Y.Z", --help prints usage on stdout, both exit
# 0; usage errors (no arguments, unknown subcommand or option, missing or
# extra arguments for lint policy, lint txt and mx-match) exit 2 with
# nothing on stdout and a usage line on stderr, so scripts can tell them
# from an invalid policy (exit 1).
#
# Usage: MTASTS=build/milter/mtasts srcdir=. sh tests/cli/usage.sh

# shellcheck disable=SC2317 # not every script uses every helper of the prelude

# shellcheck source=tests/cli/prelude.sh
. "${srcdir:-.}/tests/cli/prelude.sh"

printf 'version: STSv1\nmode: none\nmax_age: 86400\n' >"$tmp/work/p.txt"

run --version
want_rc 0
want_empty err
v=$(cat "$tmp/out")
case $v in
"mtasts (mtasts-milter) "*)
    _ver=${v#"mtasts (mtasts-milter) "}
    _ifs=$IFS
    IFS=.
    set -f
    # shellcheck disable=SC2086
    set -- $_ver
    IFS=$_ifs
    set +f
    case $#:$_ver in
    3:*[!0-9.]* | 3:.* | 3:*. | 3:*..*) fail "--version: want X.Y.Z, got '$_ver'" ;;
    3:*) ;;
    *) fail "--version: want X.Y.Z, got '$_ver'" ;;
    esac
    [ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "--version: want one line"
    ;;
*) fail "--version: want 'mtasts (mtasts-milter) X.Y.Z', got:" "  $v" ;;
esac
ok "--version prints 'mtasts (mtasts-milter) X.Y.Z'"

# The version should be the package's: compare with configure.ac when the
# version there is a literal X.Y.Z.
if [ -n "${srcdir-}" ] && [ -f "$srcdir/configure.ac" ]; then
    _ac=$(sed -n 's/^AC_INIT(\[mtasts-milter\], *\[\([0-9][0-9.]*\)\].*/\1/p' "$srcdir/configure.ac")
    if [ -n "$_ac" ]; then
        [ "$v" = "mtasts (mtasts-milter) $_ac" ] || fail "--version: want version $_ac from configure.ac, got: $v"
        ok "--version matches AC_INIT in configure.ac"
    fi
fi

run --help
want_rc 0
want_empty err
_help=$(cat "$tmp/out")
for _w in "lint policy" "lint txt" "mx-match" "--json" "--version"; do
    case $_help in
    *"$_w"*) ;;
    *) fail "--help: want a mention of '$_w'" ;;
    esac
done
ok "--help prints the usage on stdout and exits 0"

want_usage "no arguments"
want_usage "unknown subcommand" frobnicate
want_usage "unknown option" --frobnicate
want_usage "fetch without DOMAIN" fetch
want_usage "lint without a kind" lint
want_usage "lint with an unknown kind" lint spf p.txt
want_usage "lint policy without FILE" lint policy
want_usage "lint policy --json without FILE" lint policy --json
want_usage "lint policy with two FILEs" lint policy p.txt p.txt
want_usage "lint policy with an unknown option" lint policy --frobnicate p.txt
want_usage "lint txt without RECORD" lint txt
want_usage "mx-match without arguments" mx-match
want_usage "mx-match with one argument" mx-match mx.example.com
want_usage "mx-match with three arguments" mx-match mx.example.com mx.example.com x

finish
