#!/usr/bin/env python3
"""Checks scenarios/schema.json against the scenarios spotlab ships and the scenario loader.

Sections (all by default, or those named on the command line):

  meta       the schema is a valid draft 2020-12 schema
  shipped    every shipped scenario (scenarios/**/*.json, the scenarios among tests/data/cli)
             follows it
  bad        the structurally wrong bad scenarios of tests/data/bad-scenarios (unknown keys,
             wrong types, bad names, bad unit strings) break it, at the field spotlab names
  agreement  on a corpus of values of every unit (durations, prices, sizes, bandwidths, rates,
             fractions, expectation bounds, sweep values) and of shapes of strategies (sweeps
             of parameters a strategy has or lacks), expectations (kinds of bounds,
             aggregates), jobs, pools and clouds, the schema accepts exactly what
             `spotlab validate` accepts

Exit status: 0 when every check holds, 1 when one does not, 77 when python3-jsonschema is
missing. Environment: SPOTLAB_BIN (the spotlab to compare with, for 'bad' and 'units'),
SPOTLAB_TEST_WRAPPER (a command to run it under, like valgrind).
"""
import copy
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed (Debian: apt-get install python3-jsonschema)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCHEMA_PATH = os.path.join(ROOT, "scenarios", "schema.json")
BAD_DIR = os.path.join(ROOT, "tests", "data", "bad-scenarios")

# Bad scenarios whose mistake is in the structure of the file: the schema must refuse them.
# (The others need what a schema cannot see: trace files, names defined elsewhere in the file,
# bounds in order, values equal after parsing.)
STRUCTURAL = """
cloud-adaptive-unknown-key cloud-aws-string cloud-aws-unknown-key cloud-billing-granularity-zero
cloud-billing-unknown-key cloud-checkpoint-bandwidth-zero cloud-checkpoint-every-and-adaptive
cloud-checkpoint-schedule-unknown-key cloud-checkpoint-size-words cloud-checkpoint-unknown-key
cloud-clouds-unknown-cloud cloud-egress-unknown-key cloud-fraction-negative cloud-fraction-over-100
cloud-gpus-fraction cloud-hazard-price-scaled cloud-hazard-rate-and-unknown-gpu
cloud-hazard-rate-words cloud-hazard-scaled cloud-hazard-unknown-gpu cloud-hazard-unknown-key
cloud-inference-without-items cloud-job-list cloud-job-type-unknown cloud-job-unknown-key
cloud-pool-neither-trace-nor-hazard cloud-pool-no-on-demand-price cloud-pool-no-spot-price
cloud-pool-string cloud-pool-trace-and-hazard cloud-pool-unknown-cloud cloud-pool-unknown-key
cloud-pools-object cloud-preemptible-string cloud-provisioning-two-kinds
cloud-provisioning-unknown-key cloud-rebalance-unknown-key cloud-replicas-string
cloud-replicas-zero cloud-size-negative cloud-start-words cloud-step-time-without-default
cloud-steps-string cloud-storage-unknown-key cloud-strategies-empty cloud-strategies-object
cloud-strategy-checkpoint-unknown cloud-strategy-market-unknown cloud-strategy-placement-unknown
cloud-strategy-pool-twice cloud-strategy-pools-string cloud-strategy-preset-unknown
cloud-strategy-unknown-key cloud-strategy-without-name-or-preset cloud-top-unknown-key
cloud-trace-format-unknown cloud-trace-unknown-key cloud-training-with-items
cloud-training-without-steps cloud-uniform-not-pair cloud-unknown
convention-invalid deadline-negative deadline-zero-string duplicate-policy duration-words
file-number format-unknown gang-threshold-zero gap-zero job-string job-unknown-key missing-job
missing-policies missing-traces missing-windows missing-work model-unknown
overhead-negative-number policies-empty policies-number pools-empty pools-listed-twice
price-bad-unit price-negative price-words random-zero seed-negative seed-string
start-hour-negative start-hour-string start-hours-number time-unit-unknown top-level-array
trace-entry-string trace-unknown-key traces-empty traces-object unknown-policy unknown-top-key
windows-both windows-neither work-zero
sweep-bad-value sweep-empty-list sweep-empty-object sweep-grid-bad-fraction
sweep-interval-of-young-daly sweep-not-a-list sweep-not-an-object sweep-not-of-this-strategy
sweep-tick-model sweep-unknown-parameter
""".split()

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def load_schema():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def validator():
    return jsonschema.Draft202012Validator(load_schema())


def spotlab(args):
    """Runs spotlab with @args; returns (status, stdout, stderr)."""
    binary = os.environ.get("SPOTLAB_BIN")
    if not binary:
        print("SPOTLAB_BIN is not set: the spotlab to compare with")
        sys.exit(1)
    wrapper = shlex.split(os.environ.get("SPOTLAB_TEST_WRAPPER", ""))
    p = subprocess.run(wrapper + [binary] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def parse_field(field):
    """'strategies[2].sweep["checkpoint.interval"][1]' -> ['strategies', 2, 'sweep', ...]."""
    path = []
    for m in re.finditer(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\.?([^.\[\]]+)', field):
        if m.group(1) is not None:
            path.append(m.group(1))
        elif m.group(2) is not None:
            path.append(int(m.group(2)))
        else:
            path.append(m.group(3))
    return path


def error_paths(errors):
    """Every instance path among @errors and the errors under them (anyOf, oneOf, if/then)."""
    for e in errors:
        yield list(e.absolute_path)
        yield from error_paths(e.context or [])


# ---- meta ------------------------------------------------------------------------------------


def check_meta():
    schema = load_schema()
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        fail("scenarios/schema.json is not a valid draft 2020-12 schema: %s" % e.message)
        return
    if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        fail("scenarios/schema.json does not declare draft 2020-12")

    # Every property of every object in it says what it is, for editors' hover help. (The
    # conditions under allOf, if/then/else, not and oneOf only narrow what is described, and
    # so does an "items" beside a "$ref".)
    def walk(node, where):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if not isinstance(sub, dict) or "description" not in sub:
                    fail("%s/properties/%s has no description" % (where, name))
            for key, sub in node.items():
                if key in ("allOf", "if", "then", "else", "not", "oneOf"):
                    continue
                if key == "items" and "$ref" in node:
                    continue
                walk(sub, where + "/" + key)
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, "%s/%d" % (where, i))

    before = len(failures)
    walk(schema["$defs"], "#/$defs")
    if len(failures) == before:
        print("meta: the schema is valid draft 2020-12, every property described")


# ---- shipped ---------------------------------------------------------------------------------


def __is_profile(path):
    """A calibration profile that scenarios include (docs/calibration.md), not a scenario."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    return isinstance(doc, dict) and doc.get("kind") == "spotlab-profile"


def shipped_scenarios():
    files = sorted(glob.glob(os.path.join(ROOT, "scenarios", "**", "*.json"), recursive=True))
    files = [f for f in files if os.path.abspath(f) != SCHEMA_PATH and not __is_profile(f)]
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "cli", "*.json"))):
        with open(f, encoding="utf-8") as fh:
            doc = json.load(fh)
        if isinstance(doc, dict) and ("model" in doc or "policies" in doc):
            files.append(f)
    return files


def check_shipped():
    v = validator()
    files = shipped_scenarios()
    if len(files) < 12:
        fail("only %d shipped scenarios found" % len(files))
    for f in files:
        with open(f, encoding="utf-8") as fh:
            doc = json.load(fh)
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors[:3]:
            where = "/".join(str(p) for p in e.absolute_path)
            fail("%s: %s: %s" % (os.path.relpath(f, ROOT), where or "(top level)", e.message[:300]))
    print("shipped: %d scenarios checked" % len(files))


# ---- bad -------------------------------------------------------------------------------------


def check_bad():
    v = validator()
    for name in STRUCTURAL:
        path = os.path.join(BAD_DIR, name + ".json")
        expect_path = os.path.join(BAD_DIR, name + ".expect")
        if not os.path.exists(path) or not os.path.exists(expect_path):
            fail("%s: missing from tests/data/bad-scenarios" % name)
            continue
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        with open(expect_path, encoding="utf-8") as fh:
            expect = fh.read().strip()
        # "NAME.json:LINE:COL: FIELD: message" (or no field, for the whole file).
        m = re.match(r"^[^:]+:\d+:\d+: (?:([^ ]+): )?", expect)
        field = m.group(1) if m and m.group(1) and not m.group(1).startswith("expected") else ""
        errors = list(v.iter_errors(doc))
        if not errors:
            fail("%s: the schema accepts it; spotlab says %s" % (name, expect))
            continue
        # The schema refuses it for the reason spotlab gives: an error at the field spotlab
        # names, at the object that holds it (unknown keys, missing members, one kind of
        # several), or inside it.
        want = parse_field(field.rstrip(":"))
        ok = False
        for got in error_paths(errors):
            n = min(len(got), len(want))
            if got[:n] == want[:n] and len(got) >= len(want) - 1:
                ok = True
                break
        if not ok:
            paths = sorted({"/".join(map(str, p)) for p in error_paths(errors)})
            fail("%s: the schema refuses it elsewhere (%s) than spotlab (%s)" % (name, paths[:5], field))
    print("bad: %d structurally wrong scenarios refused at the field spotlab names" % len(STRUCTURAL))


# ---- units -----------------------------------------------------------------------------------

# Probes start from this scenario and change one thing.
BASE = {
    "model": "continuous",
    "replicas": 1,
    "pools": [{"name": "a", "cloud": "aws", "hazard": {"gpu": "h100"}, "spot_price": 1, "on_demand_price": 3}],
    "job": {
        "steps": 10,
        "step_time": "1s",
        "checkpoint": {"size": "1GB", "write": "1GB/s", "restore": "1GB/s", "storage": {"price": 0.02}},
    },
    "strategies": [{"preset": "periodic"}],
}

DURATIONS = ["10m", "1h30m", "720s", "2d", "1w", "500ms", "1.5h", " 5 m", "5min", "1h 30m", "5m ",
             ".5h", "5.m", "1e3s", "0s", "0h0m", "0", 0, 5, 1.5, -1, "-5h", "5", "h", "5 minutes",
             "5mins", "1h30", "5\tm", "", "5x", "1H", "5 m s", True, None, [], {}]
PRICES = ["$3.06/h", "3.06/h", "$3.06", "3.06", "$0.05/min", "1/hr", "1/hour", "1/m", "1/s", "2/d",
          "2/day", "3 /h", "3.06 ", " $3", 0, 3, 2.5, -1, "$ 3", "3/ h", "3/week", "-3", "$-3",
          "$3.06/H", "3.06$", "three", True]
SIZES = ["40GB", "40gb", "500MB", "1.5TB", "8GiB", "8gib", "1kB", "1KB", "1TiB", "40 GB", "40GB ",
         " 40GB", "1e2GB", "$40GB", 0, 40, 0.5, -1, "40G", "GB", "-40GB", "40 G B", "forty"]
BANDWIDTHS = ["1GB/s", "1gB/s", "1Gb/s", "10Gbit/s", "10gbit/s", "10Gbps", "100Mbps", "500MB/s",
              "1TB/s", "1GiB/s", "1MiB/s", "1 GB/s", "10GBit/s", "10GBps", "1Gib/s", "0GB/s",
              "0.0MB/s", "1GB /s", 1, 0.5, 0, -1, "fast"]
RATES = ["4.1%/h", "4.1%/hour", "0.041/h", "1/day", "1/d", "1%/d", "1%/day", "1/H", "1/HOUR",
         " 1/h", "1 /h", 0, 1, 0.041, "0.5/week", -1, "4.1%", "4.1", "-1/h"]
FRACTIONS = [0, 0.3, 1, "30%", "100%", "100.0%", "0%", "5.5%", ".5%", "050%", " 30%", "30 %",
             "$30%", 1.1, -0.1, "100.5%", "101%", "-10%", "30", "abc", "30%%"]
TRANSFER = ["$0.09/GB", "0.09/gb", "$0.09/TB", "$0.09/GiB", 0.09, 0, "$0.09", "0.09/GB-month", -1]
STORAGE = ["$0.023/GB-month", "$0.023/GB/month", "$0.023/TB-month", "$0.023/gb-MONTH", 0.023,
           "$0.023/GB", "0.023/month", -0.1]
START_TIMES = ["2025-01-06T00:00:00Z", "2025-01-06T00:00:00", "2025-01-06T00:00:00+02:00",
               "2025-01-06T00:00:00.5Z", "2025-01-06t00:00:00z", "2025-01-06T00:00Z", "2025-01-06T00Z",
               "20250106T000000Z", "2025-006T00:00:00Z", "2025-W02-1T00:00:00Z", "2025-01-06T00:00:00+0200",
               "2025-01-06", "2025-01-06 00:00:00Z", "2025-01-06T25:00:00Z", "2025-13-06T00:00:00Z",
               "2025-01-06T00:00:00-05", "yesterday"]
USD = ["$500", "500", "$1,500", "$1,500.25", "$-5", "-5", "$5.", "5e2", 500, -5, 2.5, "$ 5", "5$",
       "five dollars", "$"]
PERCENTS = ["95%", "95.5%", "-5%", "+5%", "1e2%", 95, -3, "95 %", "95", "%", "ninety%"]
HOURS = ["30h", "1d", "90m", "1h30m", 30, -1, 0.5, "30 hours", "-5h", "h"]
SECONDS = ["5m", "90s", 300, "5 minutes", "-5m"]
GOODPUT = [0.9, "90%", 1.5, "0.9", "90 %"]
COUNTS = [3, 0.5, -1, "3", "three"]
TOL_USD = ["$5", 5, 0, "10%", "$-5", -5, "5h", "-10%"]
TOL_PERCENT = ["10%", 5, "5", "-10%", -1]
SWEEP_INTERVALS = ["10m", 600, "0s", 0, "banana", -60]


def probes():
    """(description, scenario) pairs, each with one value placed in a field of its unit."""

    def at(path, value):
        doc = copy.deepcopy(BASE)
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
        node[path[-1]] = value
        return doc

    def expect(item):
        doc = copy.deepcopy(BASE)
        doc["expect"] = [item]
        return doc

    places = [
        ("job.startup (duration)", ["job", "startup"], DURATIONS),
        ("job.deadline (duration > 0)", ["job", "deadline"], DURATIONS),
        ("pools[0].max_price (price)", ["pools", 0, "max_price"], PRICES),
        ("job.checkpoint.size (size)", ["job", "checkpoint", "size"], SIZES),
        ("job.checkpoint.write (bandwidth)", ["job", "checkpoint", "write"], BANDWIDTHS),
        ("pools[0].hazard.rate (rate)", ["pools", 0, "hazard", "rate"], RATES),
        ("pools[0].hazard.launch_failure (fraction)", ["pools", 0, "hazard", "launch_failure"], FRACTIONS),
        ("egress.zone (transfer price)", ["egress", "zone"], TRANSFER),
        ("job.checkpoint.storage.price (storage price)", ["job", "checkpoint", "storage", "price"], STORAGE),
        ("start_time", ["start_time"], START_TIMES),
    ]
    for what, path, values in places:
        for v in values:
            yield "%s = %s" % (what, json.dumps(v)), at(path, v)
    bounds = [("cost", USD), ("savings_pct", PERCENTS), ("completion_hours", HOURS),
              ("recovery_seconds", SECONDS), ("goodput", GOODPUT), ("interruptions", COUNTS)]
    for metric, values in bounds:
        for v in values:
            yield "expect %s max = %s" % (metric, json.dumps(v)), expect({"metric": metric, "max": v})
    for metric, target, values in [("cost", 100, TOL_USD), ("savings_pct", 50, TOL_PERCENT)]:
        for v in values:
            yield ("expect %s tolerance = %s" % (metric, json.dumps(v)),
                   expect({"metric": metric, "target": target, "tolerance": v}))
    for v in SWEEP_INTERVALS:
        doc = copy.deepcopy(BASE)
        doc["strategies"][0]["sweep"] = {"checkpoint.interval": ["1h", v]}
        yield "sweep checkpoint.interval = %s" % json.dumps(v), doc


STRATEGY_SHAPES = [
    {"name": "h", "market": "hybrid", "sweep": {"on_demand_fraction": [0.1, 0.2]}},
    {"preset": "periodic", "market": "hybrid", "sweep": {"on_demand_fraction": [0.1, 0.2]}},
    {"preset": "hybrid", "market": "spot", "sweep": {"on_demand_fraction": [0.1, 0.2]}},
    {"preset": "spot-restart", "checkpoint": {"every": "1h"}, "sweep": {"checkpoint.interval": ["1h", "2h"]}},
    {"preset": "periodic", "checkpoint": "none", "sweep": {"checkpoint.interval": ["1h", "2h"]}},
    {"preset": "periodic", "sweep": {"checkpoint.interval": ["1h"], "retry": ["1m", "2m"]}},
    {"preset": "adaptive", "sweep": {"checkpoint.adaptive.min": ["1m", "2m"]}},
    {"preset": "periodic", "checkpoint": "adaptive", "sweep": {"checkpoint.adaptive.max": ["1h", "2h"]}},
    {"preset": "periodic", "checkpoint": {"adaptive": {}}, "sweep": {"lookback": ["1h", "2h"]}},
    {"preset": "adaptive", "checkpoint": {"every": "1h"}, "sweep": {"checkpoint.adaptive.min": ["1m"]}},
    {"preset": "periodic", "sweep": {"lookback": ["1h", "2h"]}},
    {"preset": "periodic", "placement": "price-predictive", "sweep": {"lookback": ["1h", "2h"]}},
    {"preset": "capacity-aware", "sweep": {"lookback": ["1h", "2h"]}},
    {"preset": "capacity-aware", "placement": "first", "sweep": {"lookback": ["1h", "2h"]}},
    {"preset": "deadline-greedy", "sweep": {"decision_interval": ["1m", "10m"]}},
    {"preset": "periodic", "market": "uniform-progress", "sweep": {"decision_interval": ["1m", "10m"]}},
    {"preset": "deadline-greedy", "market": "spot", "sweep": {"decision_interval": ["1m", "10m"]}},
    {"preset": "young-daly", "sweep": {"assumed_rate": ["1%/h", "2%/h"]}},
    {"preset": "periodic", "checkpoint": "young-daly", "sweep": {"assumed_rate": ["1%/h", 0.02]}},
    {"preset": "young-daly", "checkpoint": {"every": "1h"}, "sweep": {"assumed_rate": ["1%/h"]}},
    {"preset": "periodic", "sweep": {"retry": ["1m"], "market": ["spot"]}},
    {"preset": "periodic", "sweep": {"checkpoint.interval": ["1h", "1h"]}},
    {"preset": "periodic", "sweep": {"checkpoint.interval": [["1h"]]}},
    {"name": "x", "market": "spot"},
    {"name": "x"},
    {"market": "spot"},
    {"preset": "periodic", "checkpoint": {"every": "1h", "adaptive": {}}},
    {"preset": "periodic", "checkpoint": {}},
    {"preset": "periodic", "pools": ["a"], "on_notice": "checkpoint", "on_rebalance": "nothing"},
    {"preset": "periodic", "pools": []},
    {"preset": "periodic", "on_notice": "ignore"},
]
EXPECT_SHAPES = [
    {"metric": "cost", "min": 1, "max": 2},
    {"metric": "cost", "between": [1, "$2"]},
    {"metric": "cost", "between": [1]},
    {"metric": "cost", "min": 1, "between": [1, 2]},
    {"metric": "cost", "target": 1},
    {"metric": "cost", "target": "$100", "tolerance": "$5"},
    {"metric": "cost", "tolerance": 1, "max": 3},
    {"metric": "cost"},
    {"max": 3},
    {"metric": "deadline_met_pct", "aggregate": "value", "min": "50%"},
    {"metric": "deadline_met_pct", "aggregate": "mean", "min": 1},
    {"metric": "cost", "aggregate": "value", "max": 1},
    {"metric": "cost", "aggregate": "ci95_low", "max": 1},
    {"metric": "cost", "aggregate": "p99", "max": 1},
    {"metric": "finish_hours", "max": 1},
    {"metric": "completion_hours", "max": "1d"},
    {"metric": "cost", "policy": [], "max": 1},
    {"metric": "cost", "policy": ["periodic", "periodic"], "max": 1},
    {"metric": "cost", "policy": "periodic", "max": 1},
    {"metric": "cost", "policy": ["periodic"], "max": 1, "name": "n"},
    {"metric": "cost", "policy": 3, "max": 1},
    {"metric": "cost", "max": 1, "note": "x"},
]
JOB_SHAPES = [
    {"type": "inference", "items": 10, "item_time": "1s"},
    {"type": "inference", "items": 10},
    {"type": "inference", "items": 10, "item_time": "1s", "steps": 3},
    {"type": "inference", "items": 10, "item_time": "1s", "keeps_progress": True, "workers": 2, "lease": "1m"},
    {"type": "sweep", "steps": 10, "step_time": "1s", "trials": 3, "parallel": 2},
    {"steps": 10, "step_time": "1s", "trials": 3},
    {"steps": 10, "step_time": {"default": "1s", "a": "2s"}},
    {"steps": 10, "step_time": {"a": "2s"}},
    {"steps": 10, "step_time": "1s", "workers": 2},
    {"type": "batch", "steps": 10, "step_time": "1s"},
]
POOL_SHAPES = [
    {"name": "a", "cloud": "aws", "hazard": {"rate": "1%/h"}, "spot_price": 1, "on_demand_price": 3},
    {"name": "a", "cloud": "google", "hazard": {"gpu": "H100"}, "spot_price": 1, "on_demand_price": 3},
    {"name": "a", "cloud": "aws", "hazard": {"gpu": "h100"}, "on_demand_price": 3},
    {"name": "a", "cloud": "aws", "hazard": {}, "spot_price": 1, "on_demand_price": 3},
    {"name": "a", "cloud": "aws", "hazard": {"gpu": "h100"}, "spot_price": 1, "on_demand_price": 3, "capacity_scale": 2},
    {"name": "a", "cloud": "oracle", "hazard": {"gpu": "h100"}, "spot_price": 1, "on_demand_price": 3},
    {"name": "a", "cloud": "aws", "hazard": {"gpu": "h100", "weekend_factor": 0.5, "night_factor": 2,
                                             "region_factor": 3}, "spot_price": 1, "on_demand_price": 3},
    {"name": "a", "cloud": "aws", "hazard": {"gpu": "h100", "weekend_factor": 2000}, "spot_price": 1, "on_demand_price": 3},
]
CLOUD_SHAPES = [
    {"aws": {"provisioning": "90s"}},
    {"aws": {"provisioning": {"median": "1m", "p95": "5m"}}},
    {"aws": {"provisioning": {"median": "1m"}}},
    {"aws": {"provisioning": {"p95": "5m"}}},
    {"aws": {"provisioning": {"uniform": ["1m", "2m"]}}},
    {"aws": {"provisioning": {"uniform": ["1m"]}}},
    {"aws": {"provisioning": {"fixed": "1m", "exponential": "2m"}}},
    {"gcp": {"notice": "30s", "billing": {"granularity": "1m"}, "rebalance": {"probability": "50%"}}},
    {"azure": {"preemptible_lifetime": "24h", "notice_missed": 0.1, "notice_late": "10s", "notice_duplicated": "5%"}},
    {"google": {}},
]


def shapes():
    """(description, scenario) pairs of strategies, expectations, jobs, pools and clouds."""
    for s in STRATEGY_SHAPES:
        doc = copy.deepcopy(BASE)
        doc["strategies"] = [s]
        yield "strategy %s" % json.dumps(s), doc
    for e in EXPECT_SHAPES:
        doc = copy.deepcopy(BASE)
        doc["expect"] = [e]
        yield "expectation %s" % json.dumps(e), doc
    for j in JOB_SHAPES:
        doc = copy.deepcopy(BASE)
        doc["job"] = j
        yield "job %s" % json.dumps(j), doc
    for p in POOL_SHAPES:
        doc = copy.deepcopy(BASE)
        doc["pools"] = [p]
        yield "pool %s" % json.dumps(p), doc
    for c in CLOUD_SHAPES:
        doc = copy.deepcopy(BASE)
        doc["clouds"] = c
        yield "clouds %s" % json.dumps(c), doc


def check_agreement():
    v = validator()
    # The unchanged scenario first: both must accept it, or every probe would be refused for
    # the same reason and agree for nothing.
    cases = [("the base scenario", copy.deepcopy(BASE))] + list(probes()) + list(shapes())
    with tempfile.TemporaryDirectory(prefix="spotlab-schema-") as tmp:
        paths = []
        for i, (what, doc) in enumerate(cases):
            path = os.path.join(tmp, "probe-%03d.json" % i)
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
            paths.append(path)
        status, out, err = spotlab(["validate", "-q"] + paths)
        if status not in (0, 2) or out != "":
            fail("spotlab validate: exit %d, stdout %r, stderr %s" % (status, out, err[-2000:]))
            return
        refused = {}
        for line in err.splitlines():
            m = re.match(r"^spotlab: (.*probe-\d+\.json):\d+:\d+: (.*)$", line)
            if m:
                refused[m.group(1)] = m.group(2)
            elif line.strip():
                fail("unexpected line from spotlab validate: %s" % line)
        if paths[0] in refused or list(v.iter_errors(cases[0][1])):
            fail("the base scenario of the probes is refused: %s" % refused.get(paths[0], "by the schema"))
        agreed = 0
        n_refused = len(refused)
        if n_refused < 100 or len(cases) - n_refused < 100:
            fail("spotlab refused %d of %d probes; expected at least 100 each way" % (n_refused, len(cases)))
        for (what, doc), path in zip(cases, paths):
            loader_ok = path not in refused
            errors = list(v.iter_errors(doc))
            if loader_ok != (not errors):
                if loader_ok:
                    fail("%s: spotlab accepts it, the schema refuses it: %s" % (what, errors[0].message[:200]))
                else:
                    fail("%s: the schema accepts it, spotlab says %s" % (what, refused[path]))
            else:
                agreed += 1
    print("agreement: the schema and spotlab agree on %d of %d values and shapes (spotlab refuses %d)"
          % (agreed, len(cases), n_refused))


SECTIONS = {"meta": check_meta, "shipped": check_shipped, "bad": check_bad, "agreement": check_agreement}


def main(argv):
    names = argv[1:] or list(SECTIONS)
    for name in names:
        if name not in SECTIONS:
            print("unknown section %r; expected one of: %s" % (name, ", ".join(SECTIONS)))
            return 2
    for name in names:
        SECTIONS[name]()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
