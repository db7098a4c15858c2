#!/bin/sh
# spec/memcheck/fuzz.sh -- the body of `make fuzz` (mk/memcheck.mk builds the
# harnesses first).  Runs every harness in $FUZZ_NAMES for $FUZZ_SECONDS
# seconds: inputs from the committed seeds (spec/fuzz/corpus/<h>/) and
# regression inputs (spec/fuzz/regressions/<h>/), new coverage kept in the
# uncommitted working corpus $FUZZ_BUILD/corpus/<h>/.  A crash, leak,
# sanitizer report, timeout or broken invariant fails the gate; the input
# is saved as $FUZZ_BUILD/artifacts/<h>/crash-... (see doc/memory-safety.md
# for reproducing it and keeping it as a regression input).
# Env: FUZZ_BUILD (build-fuzz), FUZZ_SECONDS (30), FUZZ_NAMES, FUZZ_ARGS,
# FUZZ_JOBS (2: harnesses run that many at a time, each for FUZZ_SECONDS).
set -u
B=${FUZZ_BUILD:-build-fuzz}
S=${FUZZ_SECONDS:-30}
fail=0
total=0
# leaks in the harnesses' own one-time state are reachable (globals), not
# leaks; everything per input must be freed.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:strict_string_checks=1:${ASAN_OPTIONS_EXTRA:-}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
run_one() { # harness: runs it, writes $B/fuzz-$h.result ("ok"|"FAILED" and lines to print) and .execs
  h=$1
  bin=$B/fuzz_$h
  work=$B/corpus/$h
  art=$B/artifacts/$h
  log=$B/fuzz-$h.log
  res=$B/fuzz-$h.result
  mkdir -p "$work" "$art"
  echo 0 >"$B/fuzz-$h.execs"
  [ -x "$bin" ] || { echo "FAILED fuzz_$h: $bin is not built" >"$res"; return; }
  dirs="$work spec/fuzz/corpus/$h"
  [ -d "spec/fuzz/regressions/$h" ] && dirs="$dirs spec/fuzz/regressions/$h"
  dict=""
  [ -f "spec/fuzz/$h.dict" ] && dict="-dict=spec/fuzz/$h.dict"
  before=$(ls "$art" | wc -l)
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$art/" $dict ${FUZZ_ARGS:-} $dirs >"$log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  execs=${execs:-0}
  echo "$execs" >"$B/fuzz-$h.execs"
  printf '%s\t%s\t%s\n' "$h" "$execs" "$(date -u +%FT%TZ)" >>"$B/execs.tsv"
  after=$(ls "$art" | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
    {
      echo "FAILED fuzz_$h (exit $rc) after $execs executions in ${secs}s:"
      grep -E 'ERROR|SUMMARY|invariant|runtime error|Test unit written|#0 |#1 |#2 |#3 ' "$log" | head -n 40
      echo "  reproduce: $bin $art/<crash-file>; keep it: cp it to spec/fuzz/regressions/$h/"
    } >"$res"
  else
    echo "ok fuzz_$h: $execs executions in ${secs}s, working corpus $(ls "$work" | wc -l) inputs" >"$res"
  fi
}

# FUZZ_JOBS harnesses at a time (default 2: one a core), each for the
# full FUZZ_SECONDS; results printed in the order of FUZZ_NAMES
J=${FUZZ_JOBS:-2}
started=""
for h in ${FUZZ_NAMES:?}; do
  rm -f "$B/fuzz-$h.result"
  while :; do # a free slot: fewer than J started harnesses without a result
    n=0
    for x in $started; do [ -f "$B/fuzz-$x.result" ] || n=$((n + 1)); done
    [ "$n" -lt "$J" ] && break
    sleep 1
  done
  run_one "$h" &
  started="$started $h"
done
wait
for h in $FUZZ_NAMES; do
  if [ -f "$B/fuzz-$h.result" ]; then
    cat "$B/fuzz-$h.result"
    grep -q '^ok ' "$B/fuzz-$h.result" || fail=$((fail + 1))
    total=$((total + $(cat "$B/fuzz-$h.execs" 2>/dev/null || echo 0)))
  else
    echo "FAILED fuzz_$h: no result"
    fail=$((fail + 1))
  fi
done
echo "fuzz: $total executions in total, $fail harness(es) failed"
[ "$fail" -eq 0 ]
