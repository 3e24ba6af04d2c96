#!/usr/bin/env bash
# GLMM timings beside lme4's glmer() on the same CSV files: cbpp (Laplace and nAGQ = 25),
# grouseticks, VerbAgg, and (with --sim) a simulated binomial set of 1,000,000 rows in
# 10,000 groups with a random slope. mixedlm is the release CLI; its time is the CLI's own
# timing.fit_seconds (median of --repeat fits in one process), its peak memory the
# process's maximum resident set (GNU time). lme4's time is the glmer() call only.
# lme4 is run on the simulated set only with --sim-lme4 (it takes many minutes there).
# Usage: xtask/scripts/glmm_bench.sh [--sim] [--sim-lme4] [--no-lme4] (from the workspace root;
# `cargo xtask bench --glmm` runs it). Prints a Markdown table. MIXEDLM_BIN=path times that
# binary instead of building the release CLI (a saved build, to compare two versions).
set -euo pipefail
sim=0; lme4=1; sim_lme4=0
for a in "$@"; do
  case "$a" in
    --sim) sim=1 ;;
    --no-lme4) lme4=0 ;;
    --sim-lme4) sim_lme4=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
bin=${MIXEDLM_BIN:-target/release/mixedlm}
[ -n "${MIXEDLM_BIN:-}" ] || cargo build -q --release -p mixedlm-cli
mkdir -p target/sim
cases=(
  "cbpp;tests/data/glmm/cbpp.csv;cbind(incidence, size - incidence) ~ period + (1 | herd);binomial;1;herd,period;50"
  "cbpp_agq25;tests/data/glmm/cbpp.csv;cbind(incidence, size - incidence) ~ period + (1 | herd);binomial;25;herd,period;50"
  "grouseticks;tests/data/glmm/grouseticks.csv;TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION);poisson;1;YEAR,BROOD,INDEX,LOCATION;5"
  "verbagg;tests/data/glmm/verbagg.csv;r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item);binomial;1;id,item;3"
)
if [ "$sim" = 1 ]; then
  [ -f target/sim/glmm_sim_1m.csv ] || python3 xtask/scripts/glmm_sim.py target/sim/glmm_sim_1m.csv
  cases+=("sim_1m_slope;target/sim/glmm_sim_1m.csv;y ~ x + (1 + x | g);binomial;1;g;1")
fi
echo "| model | nAGQ | mixedlm (s) | peak RSS (MiB) | lme4 glmer (s) | speed-up | -2 logLik mixedlm | -2 logLik lme4 |"
echo "|---|---|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
  IFS=';' read -r name data formula family nagq factors reps <<<"$c"
  tmp=$(mktemp)
  /usr/bin/time -f "%M" -o "$tmp.rss" "$bin" fit "$data" --formula "$formula" --family "$family" \
    --nagq "$nagq" --format json --no-diagnostics --repeat "$reps" >"$tmp"
  read -r secs obj < <(python3 -c '
import json, statistics, sys
j = json.load(open(sys.argv[1])); t = j["timing"]
runs = t.get("fit_seconds_runs") or [t["fit_seconds"]]
print(statistics.median(runs), j["objective"])' "$tmp")
  rss=$(( $(cat "$tmp.rss") / 1024 ))
  if [ "$lme4" = 1 ] && { [ "$name" != sim_1m_slope ] || [ "$sim_lme4" = 1 ]; }; then
    r=$(Rscript xtask/scripts/lme4_glmer_bench.R "$data" "$formula" "$family" "$nagq" "$factors" $(( reps < 10 ? 1 : 3 )))
    read -r rsecs robj < <(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["seconds"], j["objective"])' "$r")
    up=$(python3 -c "print(f'{$rsecs/$secs:.0f}x')")
  else
    rsecs="-"; robj="-"; up="-"
  fi
  printf "| %s | %s | %.4g | %s | %s | %s | %.7f | %s |\n" "$name" "$nagq" "$secs" "$rss" "$rsecs" "$up" "$obj" "$robj"
  rm -f "$tmp" "$tmp.rss"
done
