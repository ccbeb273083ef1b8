#!/usr/bin/env bash
# Installs the Debian packages msagent's services and tests use, when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
# Debian's own Python needs these for the venv the setup makes where pip is refused (PEP 668)
if [ "$(command -v python3 || true)" = /usr/bin/python3 ]; then
  /usr/bin/python3 -c "import ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
  /usr/bin/python3 -c "import pip" >/dev/null 2>&1 || need+=(python3-pip)
fi
if [ "${#need[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${need[@]}"
else
  echo "chromium, docker.io, debootstrap (and Debian Python's venv/pip) are present"
fi
