#!/usr/bin/env bash
# fuzz/run.sh SECONDS [NAME...] - a fuzzing campaign: every harness in turn
# (or the NAMEs given), SECONDS each, at nice 19 (NICE=N for another level).
#
# Builds the libFuzzer binaries into build-fuzz (clang, -DSIGNET_FUZZ=ON)
# unless BUILD names another build tree. Each harness starts from
# fuzz/seeds/NAME and fuzz/corpus/NAME with fuzz/NAME.dict when there is
# one; afterwards the corpus is merged (-merge=1: the smallest set keeping
# every feature) back into fuzz/corpus/NAME, keeping regress_* files
# (regression inputs of fixed findings) as they are. Crashes, leaks and
# timeouts land in fuzz/findings/ (not committed: turn each into a
# regress_* input with its fix). Prints one line per harness: executions,
# exec/s, edges (cov) and features (ft); the same lines go to
# $BUILD/fuzz-campaign.tsv.
#
# Environment: BUILD (default build-fuzz), FUZZ_ARGS (extra libFuzzer
# options, e.g. -runs=N: a harness stops at N executions or SECONDS,
# whichever comes first), NICE (default 19).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:?usage: fuzz/run.sh SECONDS [NAME...]}
shift
build=${BUILD:-$top/build-fuzz}
nice=${NICE:-19}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSIGNET_FUZZ=ON >/dev/null
fi
if [ $# -eq 0 ]; then
  set -- $(cd "$top/fuzz" && ls fuzz_*.c | sed -n 's/^fuzz_\(.*\)\.c$/\1/p' |
           grep -v -e '^world$' -e '^clock$')
fi
targets=()
for n in "$@"; do targets+=("fuzz_${n}_libfuzzer"); done
nice -n 19 cmake --build "$build" -j2 --target "${targets[@]}" >/dev/null

mkdir -p "$top/fuzz/findings"
summary=$build/fuzz-campaign.tsv
printf 'harness\tseconds\texecs\texec_per_s\tcov\tft\tcorpus\n' >"$summary"
for n in "$@"; do
  bin=$build/fuzz/fuzz_${n}_libfuzzer
  work=$build/fuzz-work/$n
  rm -rf "$work" "$work.merged"
  mkdir -p "$work" "$work.merged" "$top/fuzz/corpus/$n"
  dirs=("$top/fuzz/corpus/$n")
  [ -d "$top/fuzz/seeds/$n" ] && dirs+=("$top/fuzz/seeds/$n")
  dict=()
  [ -f "$top/fuzz/$n.dict" ] && dict=("-dict=$top/fuzz/$n.dict")
  log=$build/fuzz-$n.log
  # New inputs go to the first directory ($work), so the committed
  # corpus changes only through the merge below.
  set +e
  nice -n "$nice" "$bin" -max_total_time="$secs" -print_final_stats=1 \
    -timeout=25 -rss_limit_mb=4096 -artifact_prefix="$top/fuzz/findings/$n-" \
    ${FUZZ_ARGS:-} "${dict[@]}" "$work" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  # Minimise: every input that adds a feature, from all three sources.
  nice -n 19 "$bin" -merge=1 "$work.merged" "$top/fuzz/corpus/$n" \
    "$work" >"$build/fuzz-$n.merge.log" 2>&1 || true
  if [ -n "$(ls -A "$work.merged")" ]; then
    find "$top/fuzz/corpus/$n" -type f ! -name 'regress_*' -delete
    cp "$work.merged"/* "$top/fuzz/corpus/$n/"
  fi
  size=$(ls "$top/fuzz/corpus/$n" | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$secs" "${execs:-?}" \
    "${rate:-?}" "${cov:-?}" "${ft:-?}" "$size" | tee -a "$summary"
  [ $rc -eq 0 ] || echo "fuzz: $n stopped with a finding (rc $rc): see $log" >&2
  rm -rf "$work" "$work.merged"
done
