#!/usr/bin/env bash
# Sets up everything msagent needs on a fresh Debian machine, idempotently:
# Debian packages (chromium, docker.io, debootstrap), a running Docker engine, llama-cpp-python built
# without -march=native, msagent itself with its extras, and the tool-node image.
# Usage: bash deploy/setup.sh [--no-image]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
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
log "local model runtime (llama-cpp-python, built for this CPU family without -march=native)"
bash "$here/setup/llama_cpp.sh"
log "msagent and its extras"
python3 -m pip install --disable-pip-version-check -q -e "$repo[all,test]"
if [ "$build_image" = 1 ]; then
  log "tool-node image"
  msagent build-image
fi
log "setup done"
