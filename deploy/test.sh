#!/usr/bin/env bash
# The test command: set up what the tests need, then lint, type-check and run the whole suite.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash deploy/setup.sh
echo "==> ruff"
ruff check .
echo "==> mypy"
mypy
echo "==> pytest"
# pytest exits 5 when no test ran; that fails this script like any other failure.
python3 -m pytest "$@"
