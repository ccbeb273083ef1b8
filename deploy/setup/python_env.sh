#!/usr/bin/env bash
# The Python part of the setup.
#   python_env.sh prepare            prints the interpreter msagent installs into
#   python_env.sh install EXTRAS     installs msagent (editable, with EXTRAS) there and puts `msagent` on the PATH
# A system Python that refuses `pip install` (PEP 668: Debian 12/13's, with its EXTERNALLY-MANAGED
# marker) or has no pip gets a virtual environment under the data dir ($MSAGENT_DATA_DIR/venv,
# default ~/.msagent/venv); any other Python (pyenv, conda, an active venv) is used as it is.
# MSAGENT_VENV=1 asks for the virtual environment anyway; PYTHON picks the interpreter (default python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="${MSAGENT_DATA_DIR:-$HOME/.msagent}/venv"

refuses_pip() {
  # 0 (true) when pip would refuse to install into this interpreter, or it has no pip
  "$1" - <<'EOF'
import importlib.util, os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
managed = os.path.exists(marker) and sys.prefix == sys.base_prefix
sys.exit(0 if managed or importlib.util.find_spec("pip") is None else 1)
EOF
}

prepare() {
  if [ -x "$venv/bin/python" ]; then
    echo "$venv/bin/python"
    return
  fi
  if [ "${MSAGENT_VENV:-0}" != 1 ] && ! refuses_pip "$python"; then
    command -v "$python"
    return
  fi
  mkdir -p "$(dirname "$venv")"
  if "$python" -c "import ensurepip" >/dev/null 2>&1; then
    "$python" -m venv "$venv" >&2
  else
    # Debian without python3-venv: no ensurepip, so the venv borrows the system's pip (python3-pip)
    # through the system site-packages; it still installs into the venv, which PEP 668 allows
    "$python" -m venv --without-pip --system-site-packages "$venv" >&2
    "$venv/bin/python" -c "import pip" 2>/dev/null || {
      echo "no pip for $python: install python3-venv or python3-pip" >&2
      exit 1
    }
  fi
  echo "virtual environment: $venv (the system Python refuses pip install: PEP 668)" >&2
  echo "$venv/bin/python"
}

link() {
  # `ln -sf $1 $2`, with sudo where /usr/local/bin is not ours (as apt-get is run in setup.sh)
  if [ -w "$(dirname "$2")" ]; then ln -sf "$1" "$2"; else sudo ln -sf "$1" "$2"; fi
}

bin_dir() {
  # where `msagent` goes: /usr/local/bin (on every PATH, also this shell's), else ~/.local/bin
  if [ -w /usr/local/bin ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    echo /usr/local/bin
  else
    echo "$HOME/.local/bin"
  fi
}

install() {
  local extras="${1:-}" py spec target
  py="$(prepare)"
  spec="$repo"
  [ -n "$extras" ] && spec="$repo[$extras]"
  "$py" -m pip install --disable-pip-version-check -q -e "$spec"
  if [ "$py" != "$venv/bin/python" ]; then
    command -v msagent >/dev/null 2>&1 || \
      echo "msagent is in $("$py" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'); add that to your PATH" >&2
    return
  fi
  # the venv's bin is on no PATH: its commands are linked where the PATH looks
  target="$(bin_dir)"
  mkdir -p "$target"
  for name in msagent msagent-haproxy; do
    link "$venv/bin/$name" "$target/$name"
  done
  echo "linked msagent into $target" >&2
  case ":$PATH:" in
    *":$target:"*) ;;
    *) echo "add $target to your PATH (e.g. in ~/.profile: export PATH=\"$target:\$PATH\")" >&2 ;;
  esac
}

case "${1:-}" in
  prepare) prepare ;;
  install) install "${2:-}" ;;
  *) echo "usage: $0 prepare | install [EXTRAS]" >&2; exit 2 ;;
esac
