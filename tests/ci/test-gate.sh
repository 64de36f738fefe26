#!/bin/sh
# The CI recipe (examples/ci/spotlab-gate.sh, docs/ci.md) as a pull request meets it: an
# unchanged scenario passes both gates; a change that makes restarts slower fails both, with
# every report written; a scenario new in the change skips the comparison; a bad scenario is
# refused with exit 2 and gates nothing. The GitHub workflow calls the script it ships with.
#
# Environment (tests/meson.build, through tests/ci/test-gate.c): SPOTLAB_BIN, the spotlab under
# test; SPOTLAB_SOURCE_ROOT; SPOTLAB_TEST_WRAPPER, a command to run spotlab under (valgrind).
set -u
root=${SPOTLAB_SOURCE_ROOT:?}
gate="$root/examples/ci/spotlab-gate.sh"
SPOTLAB=${SPOTLAB_BIN:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Under the valgrind setup every spotlab the recipe starts runs under it too.
if [ -n "${SPOTLAB_TEST_WRAPPER:-}" ]; then
    printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$SPOTLAB_TEST_WRAPPER" "$SPOTLAB" >"$tmp/spotlab"
    chmod +x "$tmp/spotlab"
    SPOTLAB="$tmp/spotlab"
fi
export SPOTLAB
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

check_exit() { # what expected actual
    [ "$2" -eq "$3" ] || fail "$1: exit $3, expected $2"
}

has() { # file text
    grep -qF -- "$2" "$1" || fail "$1 does not hold '$2'"
}

# The quickstart scenario, with its trace path made absolute so that copies run from $tmp.
scenario="$root/scenarios/quickstart.json"
sed "s#\"\.\./traces/#\"$root/traces/#" "$scenario" >"$tmp/same.json"
sed -e "s#\"\.\./traces/#\"$root/traces/#" -e 's/"restart_overhead": "12m"/"restart_overhead": "40m"/' \
    "$scenario" >"$tmp/slower.json"
grep -q '"40m"' "$tmp/slower.json" || fail "the slower scenario was not made"

# 1. Unchanged: both gates pass, every report is there.
"$gate" -b "$scenario" "$tmp/same.json" "$tmp/same" >"$tmp/same.log" 2>&1
check_exit "unchanged scenario" 0 $?
for f in candidate.json base.json compare.md compare.xml report.html summary.md junit.xml; do
    [ -s "$tmp/same/$f" ] || fail "unchanged: $f missing or empty"
done
has "$tmp/same.log" "spotlab-gate: passed"
has "$tmp/same/summary.md" "### Against the base"
has "$tmp/same/summary.md" "| pass | greedy: deadline_met_pct >= 100%"
grep -qF "**regression**" "$tmp/same/compare.md" && fail "unchanged: a regression reported"
has "$tmp/same/compare.md" "compare: 0 regressions"

# 2. Slower restarts: the expectation on uniform-progress's p90 cost fails, and the comparison
#    finds the mean cost of greedy up beyond the default limit.
"$gate" -b "$scenario" "$tmp/slower.json" "$tmp/slower" >"$tmp/slower.log" 2>&1
check_exit "slower restarts" 1 $?
has "$tmp/slower.log" "spotlab-gate: FAILED (expectations: exit 1, comparison: exit 1)"
has "$tmp/slower/summary.md" "| **FAIL** | uniform-progress: cost (p90) <= \$60.00"
grep -q "| greedy | cost | .* | \*\*regression\*\* |" "$tmp/slower/summary.md" ||
    fail "slower: no cost regression for greedy in summary.md"
has "$tmp/slower/junit.xml" "<failure"
has "$tmp/slower/compare.xml" "<failure"
grep -q "<svg" "$tmp/slower/report.html" || fail "slower: report.html has no chart"
# A limit wide enough for the change passes the comparison gate (the expectation still fails).
"$gate" -b "$scenario" -l cost=50% -l savings_pct=10 -l total_savings_pct=10 \
    "$tmp/slower.json" "$tmp/limits" >"$tmp/limits.log" 2>&1
check_exit "slower restarts within wide limits" 1 $?
has "$tmp/limits.log" "(expectations: exit 1, comparison: exit 0)"

# 3. A scenario new in the change: no base, no comparison, the expectations still gate.
"$gate" -b "$tmp/no-such-base.json" "$tmp/same.json" "$tmp/new" >"$tmp/new.log" 2>&1
check_exit "new scenario" 0 $?
has "$tmp/new.log" "no base scenario"
[ -e "$tmp/new/compare.md" ] && fail "new scenario: a comparison was written"
[ -s "$tmp/new/report.html" ] || fail "new scenario: no report"

# 4. A bad scenario: exit 2, the message names the file and field, nothing gated.
printf '{"traces": [], "job": {"work": "soon"}}\n' >"$tmp/bad.json"
"$gate" -b "$scenario" "$tmp/bad.json" "$tmp/bad" >"$tmp/bad.log" 2>&1
check_exit "bad scenario" 2 $?
has "$tmp/bad.log" "bad.json:1:"
[ -e "$tmp/bad/candidate.json" ] && fail "bad scenario: results written"

# 5. Usage.
"$gate" "$tmp/same.json" >/dev/null 2>&1
check_exit "one argument" 2 $?

# 6. The workflow runs this very script, with the artifact and JUnit steps that always run.
wf="$root/examples/ci/github-actions.yml"
has "$wf" "examples/ci/spotlab-gate.sh"
has "$wf" "actions/upload-artifact"
has "$wf" "GITHUB_STEP_SUMMARY"
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$wf" <<'EOF' || fail "$wf is not the workflow it should be"
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
steps = wf["jobs"]["spot-gate"]["steps"]
runs = " ".join(s.get("run", "") for s in steps)
assert "spotlab-gate.sh" in runs
always = [s for s in steps if s.get("if") == "always()"]
assert len(always) >= 3, "summary, artifact and test results must run whatever the gate says"
assert True in wf or "on" in wf
EOF
else
    echo "python3-yaml missing: the workflow's YAML is checked by text only"
fi

if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed; logs:"
    for f in "$tmp"/*.log; do
        echo "== $f"
        cat "$f"
    done
    exit 1
fi
echo "the CI recipe works: unchanged passes, a regression fails both gates, reports written"
