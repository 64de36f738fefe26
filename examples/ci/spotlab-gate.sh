#!/bin/sh
# spotlab-gate.sh: the spot-strategy gate of a pull request, in one command.
#
#   spotlab-gate.sh [-b BASE_SCENARIO] [-l METRIC=VALUE]... SCENARIO OUT_DIR
#
# Runs SCENARIO (the pull request's version) and, when -b names it, the same scenario as the
# base branch has it; then
#   1. gates on SCENARIO's expectations (spotlab run exits 1 when one fails),
#   2. gates on the baseline: spotlab compare fails when the candidate is worse than the base
#      beyond a limit with 95% confidence (default limits, or -l ones),
#   3. writes the reports into OUT_DIR whatever the verdicts: report.html (attach it to the
#      run), summary.md (for the pull-request comment or the job summary), junit.xml and
#      compare.xml (for the CI's test view), and the results files base.json, candidate.json.
#
# Exit status: 0 both gates passed, 1 a gate failed, 2 bad input or usage (nothing is gated
# then: fix the scenario). The spotlab binary is $SPOTLAB, else `spotlab` on the PATH. A base
# scenario that does not exist (a scenario new in this pull request) skips the comparison.
# docs/ci.md explains the recipe.
set -u

usage() {
    echo "usage: $0 [-b BASE_SCENARIO] [-l METRIC=VALUE]... SCENARIO OUT_DIR" >&2
    exit 2
}

SPOTLAB=${SPOTLAB:-spotlab}
base=""
limits=""
while getopts "b:l:h" opt; do
    case $opt in
    b) base=$OPTARG ;;
    l) limits="$limits --limit=$OPTARG" ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
scenario=$1
out=$2
mkdir -p "$out" || exit 2

# The candidate: its expectations gate. Exit 2 (a bad scenario) stops everything.
"$SPOTLAB" run "$scenario" -o "$out/candidate.json"
run_status=$?
[ $run_status -le 1 ] || exit 2

# The base: measured, never gated on its own expectations (they may be the ones this pull
# request fixes).
compare_status=0
compared=""
if [ -n "$base" ] && [ -f "$base" ]; then
    "$SPOTLAB" run "$base" -o "$out/base.json" -q --no-gate || exit 2
    # $limits holds options without spaces in their values: split on purpose.
    # shellcheck disable=SC2086
    "$SPOTLAB" compare "$out/base.json" "$out/candidate.json" $limits -o "$out/compare.md"
    compare_status=$?
    [ $compare_status -le 1 ] || exit 2
    # shellcheck disable=SC2086
    "$SPOTLAB" compare -q "$out/base.json" "$out/candidate.json" $limits \
        -o "$out/compare.xml" >/dev/null
    compared=yes
elif [ -n "$base" ]; then
    echo "spotlab-gate: no base scenario $base (new in this change?): no comparison" >&2
fi

# The reports, candidate first.
inputs="$out/candidate.json"
[ -n "$compared" ] && inputs="$inputs $out/base.json"
# shellcheck disable=SC2086
"$SPOTLAB" report $inputs -o "$out/report.html" || exit 2
"$SPOTLAB" report "$out/candidate.json" -o "$out/junit.xml" || exit 2
"$SPOTLAB" report "$out/candidate.json" -o "$out/summary.md" || exit 2
if [ -n "$compared" ]; then
    {
        echo
        echo "### Against the base"
        echo
        cat "$out/compare.md"
    } >>"$out/summary.md"
fi

verdict="passed"
[ $run_status -eq 0 ] && [ $compare_status -eq 0 ] || verdict="FAILED"
echo "spotlab-gate: $verdict (expectations: exit $run_status, comparison: exit $compare_status);" \
    "reports in $out"
[ "$verdict" = "passed" ] || exit 1
exit 0
