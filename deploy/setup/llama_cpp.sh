#!/usr/bin/env bash
# Builds llama-cpp-python once without -march=native (this VM advertises Intel AMX, whose code
# path crashes on the first completion), keeps the wheel in a cache, and installs it.
set -euo pipefail
python="${PYTHON:-python3}"  # the interpreter msagent installs into (deploy/setup/python_env.sh)
if "$python" -c "import llama_cpp" >/dev/null 2>&1; then
  echo "llama-cpp-python is installed"
  exit 0
fi
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/msagent/wheels"
mkdir -p "$wheels"
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python (about 4-9 minutes, once)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF" "$python" -m pip wheel --disable-pip-version-check --no-cache-dir --no-deps \
    -w "$wheels" llama-cpp-python
fi
"$python" -m pip install --disable-pip-version-check -q "$wheels"/llama_cpp_python-*.whl
