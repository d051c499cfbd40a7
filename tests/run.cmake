# `shmbench run` and the driver's master (tests/run_driver.sh says what
# each part checks): the command line and its refusals, the workloads over
# two allocators with their counts and result files, and the deaths (a
# worker before the barrier, a worker holding the lock, the master killed
# or signalled), each in bounded time with nothing left behind.
foreach(_part cli workloads crash)
  set(_labels cli)
  if(_part STREQUAL "workloads")
    set(_labels cli multiproc)
  elseif(_part STREQUAL "crash")
    set(_labels cli multiproc crash)
  endif()
  shmbench_add_test(run_${_part} LABELS ${_labels}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_driver.sh $<TARGET_FILE:shmbench> ${_part})
  set_tests_properties(run_${_part} PROPERTIES TIMEOUT 120)
endforeach()

# The workload registry, the parameter tables, the handoff ring, and each
# workload in one process over slab and tlsf, counted against its tables.
shmbench_test(test_run_workloads LABELS unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_run_workloads.c)
