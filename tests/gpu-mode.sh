#!/bin/sh
# gpu-mode.sh BUILDDIR: the GPU code paths on whatever OpenCL device is here (PoCL in CI),
# with the whole device profile forced to a GPU's (CGAN_DEVICE_CLASS=gpu): our own "gpu"
# GEMM, implicit-GEMM convolutions, 32-lane BatchNorm reductions, pinned staging.
#   - the op checks (selftest: every op against its double reference, forward, backward and
#     finite differences; and the op test programs, odd shapes) at device work-group limits
#     of 1024 and 32 (POCL_MAX_WORK_GROUP_SIZE) and at NVIDIA's 4096-bit alignment
#   - training, resume and generation end to end (check_run, check_generate, check_train)
#   - with Oclgrind, when installed and GPU_MODE_OCLGRIND=1: every registered op check in
#     GPU mode (races, missing barriers, out-of-bounds and uninitialised reads)
# Each run writes tests/gpu-mode-<name>.log and .trs beside the Check programs' own, with a
# Check summary line, so tests/summary.sh counts them in the suite's total.
set -u
b=$(cd "${1:-.}" && pwd)
t=$b/tests
cli=$b/cgan-cl
export CGAN_DEVICE_CLASS=gpu CGAN_GEMM_POISON=1 CK_DEFAULT_TIMEOUT=900
export CGAN_CLI="$cli" CGAN_BENCH="$b/cgan-bench"
export CGAN_CACHE_DIR="${CGAN_CACHE_DIR:-$t/kcache}"
unset CGAN_GEMM_PROVIDER CGAN_GEMM_VARIANT CGAN_GEMM_PACK CGAN_CONV_FORM CGAN_BN_LANES \
      CGAN_STAGING CGAN_WG_LIMIT CGAN_MEM_ALIGN CGAN_TUNE_DISABLE CGAN_KERNEL_DIR
fails=0

# record NAME RESULT CHECKS FAILURES LOGFILE: a .trs/.log pair in automake's form
record() {
  log=$t/gpu-mode-$1.log
  [ "$5" = "$log" ] || cp "$5" "$log"
  pct=100
  [ "$3" -gt 0 ] && pct=$(( ($3 - $4) * 100 / $3 ))
  echo "$pct%: Checks: $3, Failures: $4, Errors: 0" >> "$log"
  printf ':test-result: %s\n' "$2" > "$t/gpu-mode-$1.trs"
  echo "$2: gpu-mode-$1 ($3 checks, $4 failed)"
  [ "$2" = PASS ] || fails=$((fails + 1))
}

# selftest NAME [VAR=VALUE ...]: every registered check in GPU mode
selftest() {
  name=$1; shift
  out=$t/gpu-mode-$name.log
  env "$@" "$cli" selftest > "$out" 2>&1; rc=$?
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  [ -n "$line" ] || { p=0; f=1; }
  res=PASS; { [ "$rc" = 0 ] && [ "$f" = 0 ]; } || res=FAIL
  record "$name" "$res" $((p + f)) "$f" "$out"
}

# programs NAME "PROG ..." [VAR=VALUE ...]: Check programs in GPU mode, their summaries summed
programs() {
  name=$1; progs=$2; shift 2
  out=$t/gpu-mode-$name.log
  : > "$out"
  n=0; nf=0; res=PASS
  for p in $progs; do
    echo "== $p $*" >> "$out"
    (cd "$t" && env "$@" "./$p") >> "$out.one" 2>&1; rc=$?
    cat "$out.one" >> "$out"
    line=$(grep -E '^[0-9]+%: Checks: ' "$out.one" | tail -n 1)
    rm -f "$out.one"
    if [ "$rc" = 77 ]; then echo "== $p skipped" >> "$out"; continue; fi
    if [ -z "$line" ]; then nf=$((nf + 1)); n=$((n + 1)); res=FAIL; continue; fi
    c=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/')
    f=$((f))
    n=$((n + c)); nf=$((nf + f))
    { [ "$rc" = 0 ] && [ "$f" = 0 ]; } || res=FAIL
  done
  # the programs' own summary lines are in the log; the last line is the sum
  record "$name" "$res" "$n" "$nf" "$out"
}

ops="check_conv check_norm check_syncbn check_dense check_diffaug check_optim check_gemm"
selftest selftest-wg1024 POCL_MAX_WORK_GROUP_SIZE=1024
selftest selftest-wg32 POCL_MAX_WORK_GROUP_SIZE=32
selftest selftest-align4096 CGAN_MEM_ALIGN=4096
programs ops-wg1024 "$ops" POCL_MAX_WORK_GROUP_SIZE=1024
programs ops-wg32 "$ops" POCL_MAX_WORK_GROUP_SIZE=32
programs ops-align4096 "check_conv check_norm check_dense check_graph" CGAN_MEM_ALIGN=4096
programs train-resume-generate "check_train check_run check_generate" POCL_MAX_WORK_GROUP_SIZE=32

if [ "${GPU_MODE_OCLGRIND:-0}" = 1 ]; then
  if command -v oclgrind > /dev/null 2>&1; then
    out=$t/gpu-mode-oclgrind.log
    (cd "$b" && make check-oclgrind) > "$out" 2>&1; rc=$?
    n=$(grep -c -E '^(PASS|FAIL): ' "$out"); f=$(grep -c -E '^FAIL: ' "$out")
    res=PASS; { [ "$rc" = 0 ] && [ "$f" = 0 ]; } || res=FAIL
    record oclgrind "$res" "$n" "$f" "$out"
  else
    echo "SKIP: gpu-mode-oclgrind (oclgrind is not installed)"
  fi
fi
[ "$fails" = 0 ] || { echo "check-gpu-mode: $fails runs failed (tests/gpu-mode-*.log)"; exit 1; }
echo "check-gpu-mode: every run passed"
