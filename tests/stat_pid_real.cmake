# `shmbench stat --pid`: of Debian's own nginx with two lua dicts and a
# limit_req zone (tests/stat_pid_real.sh; skipped where that nginx is not
# installed).
shmbench_add_test(stat_pid_real LABELS realnginx cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/stat_pid_real.sh $<TARGET_FILE:shmbench>)
set_tests_properties(stat_pid_real PROPERTIES TIMEOUT 180)

# The translation of nginx's zones that `stat --pid` relies on, checked on
# zones of nginx's own slab code (the `nginx` allocator; skipped without it).
shmbench_test(test_slab_nginx LABELS unit nginx
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_slab_nginx.c)

# stat --pid without a real nginx: stat_pid_fake maps zones as nginx does,
# formatted by nginx's own slab code, and puts them in the states a real
# nginx does not get into on demand (corrupt, never still, lock held, lock
# of a dead pid).  Skipped without the nginx allocator.
shmbench_test_program(stat_pid_fake ${CMAKE_CURRENT_LIST_DIR}/stat_pid_fake.c)
shmbench_add_test(stat_pid_fake LABELS cli nginx
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/stat_pid_fake.sh $<TARGET_FILE:shmbench>
          $<TARGET_FILE:stat_pid_fake>)
set_tests_properties(stat_pid_fake PROPERTIES TIMEOUT 120)
