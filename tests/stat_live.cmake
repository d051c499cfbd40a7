# `shmbench stat` of zones that other processes use: stat_holder (a small
# program linked with the library) churns a posix zone, holds its lock, or
# dies holding it, while tests/stat_live.sh runs `stat` on it.
shmbench_test_program(stat_holder ${CMAKE_CURRENT_LIST_DIR}/stat_holder.c)
shmbench_add_test(stat_live LABELS cli multiproc
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/stat_live.sh $<TARGET_FILE:shmbench>
          $<TARGET_FILE:stat_holder>)
set_tests_properties(stat_live PROPERTIES TIMEOUT 120)
