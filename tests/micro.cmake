# The google-benchmark micro suite (bench/micro/, docs/micro.md) and
# `shmbench micro` (tests/micro_test.sh says what each part checks): the
# command line's errors, which need no suite, and a short run of the suite
# on slab and glibc, which is reported skipped where google-benchmark was
# not found at build time.
shmbench_add_test(micro_cli LABELS cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/micro_test.sh $<TARGET_FILE:shmbench> cli)
if(TARGET shmbench-micro)
  shmbench_add_test(micro_suite LABELS cli
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/micro_test.sh $<TARGET_FILE:shmbench> suite)
  set_tests_properties(micro_suite PROPERTIES TIMEOUT 60)
else()
  shmbench_skipped(micro_suite LABELS cli
    WHY "google-benchmark was not found at build time (Debian: libbenchmark-dev)")
endif()
