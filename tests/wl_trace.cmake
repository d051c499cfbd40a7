# The trace workload of `shmbench run` (workloads/wl_trace.c; what
# tests/run_wl_trace.sh checks is at its top): a trace replayed by 1 and 2
# workers, each and split, on slab, tlsf and glibc, with the counts against
# the trace's own and every refusal.
shmbench_add_test(run_wl_trace LABELS cli multiproc
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_wl_trace.sh $<TARGET_FILE:shmbench>)
set_tests_properties(run_wl_trace PROPERTIES TIMEOUT 120)
