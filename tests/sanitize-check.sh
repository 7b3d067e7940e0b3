#!/bin/sh
# sanitize-check.sh SRCDIR "TESTS": in a --enable-sanitizers build folder, run
# `make check TESTS=...` with AddressSanitizer, LeakSanitizer (the OpenCL driver's own leaks
# suppressed by SRCDIR/tests/lsan.supp, ours never) and UndefinedBehaviorSanitizer, all fatal.
#
# LeakSanitizer stops every thread with ptrace at exit to scan memory; with PoCL's worker
# threads its tracer itself crashes now and then ("Tracer caught signal 11", seen with
# check_conv, check_gemm, and a cgan-cl that check_gpu_mode runs), which says nothing about
# our code. A program that failed with no sanitizer report of its own in its log (no leak,
# no ASan or UBSan error) is run again, up to twice: a real failure, or a leak in a program
# a test runs, fails again every time (they are deterministic), while the tracer's crash
# does not. A sanitizer report in the program's own log fails at once.
set -u
srcdir=$1
tests=$2
export ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$srcdir/tests/lsan.supp:print_suppressions=0"

# No sanitizer report of the program's own in this log (see above).
retriable() {
  log=tests/$1.log
  [ -f "$log" ] || return 1
  grep -qE 'detected memory leaks|ERROR: AddressSanitizer|ERROR: LeakSanitizer: detected|runtime error:' "$log" && return 1
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
    if retriable "$t"; then retry="$retry $t"; else
      tail -n 40 "tests/$t.log" >&2
      echo "sanitize-check: $t failed with a sanitizer report (tests/$t.log)" >&2
      exit 1
    fi
  done
  echo "sanitize-check: failed without a sanitizer report of their own (LeakSanitizer's tracer?):$retry; running again (attempt $attempt)"
  tests=$retry
  make -j2 check TESTS="$tests" && exit 0
done
for t in $(failed_of "$tests"); do tail -n 40 "tests/$t.log" >&2; done
echo "sanitize-check: still failing after two more attempts: $(failed_of "$tests")" >&2
exit 1
