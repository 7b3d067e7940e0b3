#!/bin/sh
# sanitize-check.sh SRCDIR "TESTS": in a --enable-sanitizers build folder, run
# `make check TESTS=...` with AddressSanitizer, LeakSanitizer (the OpenCL driver's own leaks
# suppressed by SRCDIR/tests/lsan.supp, ours never) and UndefinedBehaviorSanitizer, all fatal.
#
# LeakSanitizer stops every thread with ptrace at exit to scan memory; with PoCL's worker
# threads its tracer itself crashes now and then ("Tracer caught signal 11", seen with
# check_conv and check_gemm), which says nothing about our code. A program that failed in
# exactly that way, and in no other (no leak report, no ASan or UBSan error, no failed
# check), is run again, up to twice; any other failure fails at once.
set -u
srcdir=$1
tests=$2
export ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$srcdir/tests/lsan.supp:print_suppressions=0"

# Only LeakSanitizer's tracer failed in this log.
tracer_only() {
  log=tests/$1.log
  [ -f "$log" ] || return 1
  grep -q 'Tracer caught signal' "$log" || return 1
  grep -qE 'detected memory leaks|ERROR: AddressSanitizer|runtime error:|Failures: [1-9]|Errors: [1-9]' "$log" && return 1
  return 0
}

failed_of() {
  for t in $1; do
    if grep -qE '^:test-result: (FAIL|ERROR)' "tests/$t.trs" 2>/dev/null; then printf '%s ' "$t"; fi
  done
}

make -j2 check TESTS="$tests" && exit 0
for attempt in 1 2; do
  failed=$(failed_of "$tests")
  [ -n "$failed" ] || exit 1
  retry=""
  for t in $failed; do
    if tracer_only "$t"; then retry="$retry $t"; else
      echo "sanitize-check: $t failed (see tests/$t.log)" >&2
      exit 1
    fi
  done
  echo "sanitize-check: LeakSanitizer's tracer crashed in:$retry; running again (attempt $attempt)"
  tests=$retry
  make -j2 check TESTS="$tests" && exit 0
done
echo "sanitize-check: still failing after two more attempts: $(failed_of "$tests")" >&2
exit 1
