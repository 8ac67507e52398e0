#!/usr/bin/env bash
# Create the virtual env the Qwen-Agent side-by-side runs in (its pins clash with longdoc's).
# Usage: benchmarks/qwen_agent_setup.sh [VENV]   default: ${LONGDOC_HOME:-~/.longdoc}/qwen-agent-venv
set -euo pipefail
venv=${1:-${LONGDOC_HOME:-$HOME/.longdoc}/qwen-agent-venv}
python=${PYTHON:-python3}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# The same llama.cpp build as longdoc's, for this CPU (scripts/llama-wheel; -march=native can die with "Illegal instruction").
wheel=$("$(dirname "$0")/../scripts/llama-wheel" "$venv/bin/python")
llama_version=$(basename "$wheel" | cut -d- -f2)
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  "qwen-agent[rag,python-executor]==0.0.34" soundfile tqdm "llama-cpp-python[server]==$llama_version"
echo "Qwen-Agent environment ready: $venv"
