#!/usr/bin/env bash
# The runs behind docs/benchmarks.md. Each `bench run` caches per item under its
# --out folder: rerun the same command to resume after an interruption.
# Usage: benchmarks/needle.sh smoke|smoke16k|modes|depths|large|side-by-side|levels|full [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
L=.venv/bin/longdoc
model=${LONGDOC_MODEL:-qwen2.5-coder-0.5b}
threads=${LONGDOC_THREADS:-1}
case "${1:-smoke}" in
  smoke)  # 6 items (3 tasks x EN/ZH, 4k tokens), longdoc rag + full-context baseline: < 15 min
    out=${2:-bench-results/smoke}
    $L bench run --preset smoke --out "$out" --model "$model" --threads "$threads" ;;
  smoke16k)  # the 2026-11-22 smoke set: 10 items (5 tasks x EN/ZH, 16k tokens), rag + full (~40 min)
    out=${2:-bench-results/smoke16k}
    $L bench generate --out "$out/items" --lengths 16000 --depths 50 --tasks single_needle,multi_needle,multi_reasoning,decoy,paraphrase --model "$model"
    $L bench run --out "$out" --items "$out/items" --systems rag,full --model "$model" --threads "$threads" ;;
  side-by-side)  # Qwen-Agent's Assistant on items made by a run above (needs benchmarks/qwen_agent_setup.sh)
    out=${2:-bench-results/smoke}
    $L bench run --out "$out" --items "$out/items" --systems qwen-agent:assistant --model "$model" --threads "$threads" ;;
  modes)  # the smoke items through Level 2 (both strategies), Level 3 and auto, and Qwen-Agent's ParallelDocQA
    out=${2:-bench-results/modes}
    $L bench generate --out "$out/items" --preset smoke --model "$model"
    $L bench run --out "$out" --items "$out/items" --systems auto,read,read:all,agent,qwen-agent:parallel --model "$model" --threads "$threads" ;;
  depths)  # single needle at 32k tokens, depths 0-100%, EN/ZH: longdoc rag against Qwen-Agent's Assistant
    out=${2:-bench-results/depths}
    $L bench generate --out "$out/items" --lengths 32000 --depths 0,25,50,75,100 --tasks single_needle --langs en,zh --model "$model"
    $L bench run --out "$out" --items "$out/items" --systems rag,qwen-agent:assistant --model "$model" --threads "$threads" ;;
  large)  # one single-needle item per language at 128k and 1M tokens
    out=${2:-bench-results/large}
    $L bench generate --out "$out/items" --lengths 128000,1000000 --depths 50 --tasks single_needle --langs en,zh --model "$model"
    $L bench run --out "$out" --items "$out/items" --systems rag,full,qwen-agent:assistant --model "$model" --threads "$threads" ;;
  levels)  # the hard questions for Levels 2 and 3 (22 items, see PRESETS["levels"]), every mode and both
    # Qwen-Agent agents, with one model (LONGDOC_MODEL); run it once per embedded model into its own OUT
    out=${2:-bench-results/levels-$model}
    items=${LEVELS_ITEMS:-bench-results/levels-items}
    [ -f "$items/items.jsonl" ] || $L bench generate --out "$items" --preset levels --model qwen2.5-coder-0.5b
    $L bench run --out "$out" --items "$items" --systems rag,read,agent,auto,qwen-agent:parallel,qwen-agent:assistant \
      --model "$model" --threads "$threads" ;;
  full)  # the whole grid: 6 lengths x 5 depths x 5 tasks x 2 languages, every mode (days on a CPU; use a server)
    out=${2:-bench-results/full}
    $L bench run --preset full --out "$out" --model "$model" --threads "$threads" ;;
  *) echo "usage: $0 smoke|smoke16k|modes|depths|side-by-side|large|levels|full [OUT]" >&2; exit 2 ;;
esac
