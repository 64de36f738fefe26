#!/bin/sh
# A workload that speaks the progress protocol but never writes a checkpoint: `spotlab
# calibrate` cannot measure checkpoints and must exit 2 (tests/cli/test-calibrate.c).
trap '' PIPE
emit() {
    printf '{"event":"%s","time":0,"mono":0%s}\n' "$1" "${2:+,$2}" >&"$SPOTLAB_PROGRESS_FD"
}
emit hello '"version":1,"workload":"no-checkpoints","pid":'$$
emit start '"config":"none","total_steps":3,"params":0,"checkpoint_bytes":0'
for step in 1 2 3; do
    emit step '"step":'$step',"loss":null,"items":1,"step_seconds":0.001'
done
emit exit '"reason":"completed","step":3,"code":0'
