#!/usr/bin/env bash
# fuzz/coverage.sh [NAME...] - source coverage of the fuzz corpora.
#
# Builds the replay binaries with clang source-based coverage
# (-fprofile-instr-generate -fcoverage-mapping) into build-cov (or $BUILD),
# replays fuzz/seeds/NAME and fuzz/corpus/NAME through each, merges the
# profiles with llvm-profdata and prints, per harness, llvm-cov's totals
# and then the functions docs/FUZZING.md tracks (jwt_verify,
# ca_check_chain, http_parse_form, ...) with their line, region and branch
# coverage. Profiles and reports stay in $BUILD/cov/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build-cov}
ver=${LLVM_VERSION:-14}
profdata=llvm-profdata-$ver
cov=llvm-cov-$ver

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
    -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
fi
[ $# -gt 0 ] || set -- http jwt sign_request ca_chain ca_dn client_config \
  codec digestinfo parse
targets=()
for n in "$@"; do targets+=("fuzz_${n}_replay"); done
nice -n 19 cmake --build "$build" -j2 --target "${targets[@]}" >/dev/null

out=$build/cov
mkdir -p "$out"
for n in "$@"; do
  dirs=()
  for d in seeds corpus; do
    [ -d "$top/fuzz/$d/$n" ] && dirs+=("$top/fuzz/$d/$n")
  done
  rm -f "$out/$n".*.profraw
  LLVM_PROFILE_FILE="$out/$n.%p.profraw" \
    "$build/fuzz/fuzz_${n}_replay" "${dirs[@]}" >/dev/null
  $profdata merge -sparse "$out/$n".*.profraw -o "$out/$n.profdata"
  rm -f "$out/$n".*.profraw
  bin=$build/fuzz/fuzz_${n}_replay
  echo "== $n"
  $cov report "$bin" -instr-profile="$out/$n.profdata" \
    -ignore-filename-regex='/fuzz/' | tail -1 | awk '{
      printf "  all code it links: regions %s, functions %s, lines %s\n", $4, $7, $10 }'
  $cov report -show-functions "$bin" -instr-profile="$out/$n.profdata" \
    "$top/src" >"$out/$n.functions.txt" 2>/dev/null || true
  for f in jwt_verify jwt_decode check_sig find_account verify_with \
           oauth_token ca_check_chain http_parse_form http_process \
           keys_import_cert api_keys_sign; do
    # llvm-cov 14 columns: name, regions miss cover, lines miss cover,
    # branches miss cover
    # (static functions are listed as file.c:name)
    awk -v f="$f" '$1 == f || $1 ~ (":" f "$") {
      printf "  %-16s lines %7s (%3d of %3d)  regions %7s  branches %7s (%d of %d)\n",
        f, $7, $5 - $6, $5, $4, $10, $8 - $9, $8 }' "$out/$n.functions.txt"
  done
done
