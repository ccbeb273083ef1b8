#!/usr/bin/env bash
# Starts dockerd when no Docker engine answers (as on a bare Debian box), and waits for it.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  echo "a Docker engine answers"
  exit 0
fi
log_dir="${MSAGENT_DATA_DIR:-$HOME/.msagent}/logs"
mkdir -p "$log_dir"
echo "starting dockerd (log: $log_dir/dockerd.log)"
nohup dockerd >"$log_dir/dockerd.log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "dockerd is up"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60 s; see $log_dir/dockerd.log" >&2
exit 1
