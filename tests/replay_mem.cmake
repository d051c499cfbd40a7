# `shmbench replay --memory` and `--format json`: figures derived by hand on
# small slab traces, the first-line failure notice, well-formed JSON with
# every field, slab and nginx alike on every conformance vector, and the
# per-process allocators given the whole zone (tests/replay_mem.sh).
add_test(NAME cli_replay_memory
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/replay_mem.sh $<TARGET_FILE:shmbench>
          "${SHMBENCH_CONFORMANCE_DIR}")
set_tests_properties(cli_replay_memory PROPERTIES LABELS "cli" TIMEOUT 60)
