# The stress workloads, mstress and phase (tests/test_wl_stress.c and
# tests/run_wl_stress.sh say what each checks): in one process, with their
# block pattern, the corruption detector and phase's switch; then through
# `shmbench run` with 2 workers on slab, tlsf and lfslab, with the counts,
# the zone's check and the refused cap.
shmbench_test(test_wl_stress LABELS unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wl_stress.c)
shmbench_add_test(run_wl_stress LABELS cli multiproc
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_wl_stress.sh $<TARGET_FILE:shmbench>)
set_tests_properties(run_wl_stress PROPERTIES TIMEOUT 120)
