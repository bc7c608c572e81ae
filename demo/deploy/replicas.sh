#!/usr/bin/env bash
# Start N replicas of the explorer on ports PORT, PORT+1, ... (one per core), for the upstream block
# of nginx-gradcam.conf. Ctrl-C or SIGTERM stops them all. Run from the repository root:
#
#   demo/deploy/replicas.sh N PORT [python -m demo options...]
#   demo/deploy/replicas.sh 2 7860 --root-path /gradcam --auth-file users.txt --class-size 100
#
# PYTHON selects the interpreter (default .venv/bin/python).
set -u

usage="使い方 / usage: $0 N PORT [python -m demo options...]  (例 / e.g. $0 2 7860 --root-path /gradcam)"
if [[ $# -lt 2 || ! $1 =~ ^[1-9][0-9]*$ || ! $2 =~ ^[1-9][0-9]*$ ]]; then
    echo "$usage" >&2
    exit 2
fi
count=$1 first_port=$2
shift 2
python=${PYTHON:-.venv/bin/python}

replicas=()
stop_all() {
    kill -TERM "${replicas[@]}" 2>/dev/null
    wait
    exit 0
}
trap stop_all INT TERM

for ((number = 0; number < count; number++)); do
    "$python" -m demo --port $((first_port + number)) "$@" &
    replicas+=($!)
done
wait
