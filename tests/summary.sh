#!/bin/sh
# summary.sh DIR: print the Check summary of every test log in DIR, then one total line
# "N passed, N failed" (before it, how many test programs skipped tests, when any did).
dir=${1:-tests}
passed=0; failed=0; skipped=0; progs=0
for trs in "$dir"/*.trs; do
  [ -f "$trs" ] || continue
  log=${trs%.trs}.log
  name=$(basename "${trs%.trs}")
  res=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
  progs=$((progs + 1))
  line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" 2>/dev/null | tail -n 1)
  if [ -n "$line" ]; then
    why=$(sed -n 's/^SKIP: //p' "$log" 2>/dev/null | head -n 1)
    if [ "$res" = SKIP ] && [ -n "$why" ]; then line="$line (skipped: $why)"; skipped=$((skipped + 1)); fi
    printf '%-22s %s\n' "$name:" "$line"
    c=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    passed=$((passed + c - f - e)); failed=$((failed + f + e))
  elif [ "$res" = SKIP ]; then
    printf '%-22s skipped (%s)\n' "$name:" "$(tail -n 1 "$log" 2>/dev/null)"
    skipped=$((skipped + 1))
  else
    printf '%-22s %s, no Check summary (crashed?)\n' "$name:" "${res:-no result}"
    failed=$((failed + 1))
  fi
  # A program that printed a clean summary but still failed (leak, crash at exit) counts.
  if [ "$res" = FAIL ] || [ "$res" = ERROR ]; then
    if [ -n "$line" ] && [ "$f" = 0 ] && [ "$e" = 0 ]; then failed=$((failed + 1)); fi
  fi
done
if [ "$progs" = 0 ]; then echo "no test results found in $dir"; echo "0 passed, 1 failed"; exit 1; fi
# the last line is always "N passed, N failed" (how a run is seen to have run tests)
if [ "$skipped" -gt 0 ]; then echo "$skipped test program(s) skipped tests (reasons above)"; fi
echo "$passed passed, $failed failed"
