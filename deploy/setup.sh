#!/usr/bin/env bash
# Sets up everything msagent needs on a fresh Debian machine, idempotently:
# Debian packages (chromium, docker.io, debootstrap), a running Docker engine, a Python environment
# (a venv under the data dir where the system Python refuses pip: PEP 668), llama-cpp-python built
# without -march=native, msagent itself with its extras (`msagent` on the PATH), the tool-node image.
# Usage: bash deploy/setup.sh [--no-image]     (PYTHON=... picks the interpreter; MSAGENT_VENV=1 forces the venv)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_image=1
for arg in "$@"; do
  case "$arg" in
    --no-image) build_image=0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\n==> %s\n' "$*"; }

log "Debian packages"
bash "$here/setup/debian_packages.sh"
log "Docker engine"
bash "$here/setup/docker_engine.sh"
log "Python environment"
PYTHON="$(bash "$here/setup/python_env.sh" prepare)"
export PYTHON
echo "installing into $PYTHON"
log "local model runtime (llama-cpp-python, built for this CPU family without -march=native)"
bash "$here/setup/llama_cpp.sh"
log "msagent and its extras"
bash "$here/setup/python_env.sh" install "all,test"
if [ "$build_image" = 1 ]; then
  log "tool-node image"
  "$PYTHON" -m msagent build-image
fi
log "setup done"
