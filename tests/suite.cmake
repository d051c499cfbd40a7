# `shmbench suite`, `merge` and `compare` (docs/suites.md): the statistics
# and the JSON reader in one process; the commands end to end over the tiny
# suite files beside the script (suite_cli.sh says what each part checks).
shmbench_test(test_stats LABELS unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_stats.c ${PROJECT_SOURCE_DIR}/bench/stats.c
          ${PROJECT_SOURCE_DIR}/bench/json.c)
target_include_directories(test_stats PRIVATE ${PROJECT_SOURCE_DIR}/bench)

foreach(_part run parallel compare)
  shmbench_add_test(suite_${_part} LABELS cli
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/suite_cli.sh $<TARGET_FILE:shmbench> ${_part})
  set_tests_properties(suite_${_part} PROPERTIES TIMEOUT 120)
endforeach()
