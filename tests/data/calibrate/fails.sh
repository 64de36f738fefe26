#!/bin/sh
# A workload that speaks the progress protocol and then fails, as a run that runs out of memory
# would: `spotlab calibrate` must exit 1 (tests/cli/test-calibrate.c).
trap '' PIPE
printf '{"event":"hello","time":0,"mono":0,"version":1,"workload":"fails","pid":%d}\n' $$ \
    >&"$SPOTLAB_PROGRESS_FD"
echo "fails.sh: out of memory (on purpose)" >&2
exit 1
