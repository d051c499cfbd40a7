# `shmbench capture` and libshmbench-capture.so (tests/capture_test.sh):
#   capture_target  a program of known heap calls (tests/capture_target.c:
#                   every call kind, two threads, a fork) captured, its
#                   trace checked line by line against what it says it did,
#                   and replayed
#   capture_sqlite  Debian's sqlite3 running a script, captured and replayed
#                   over slab and tlsf (skipped when sqlite3 is not installed)
#   capture_errors  bad command lines, a command that cannot run, a library
#                   that cannot be found, exit statuses passed on, --help
# The target program runs with the library preloaded, so it is built plain
# like the library (workloads/capture/CMakeLists.txt): no sanitizer, no
# coverage; -fno-builtin keeps every heap call it makes a real call.
add_executable(capture_target ${CMAKE_CURRENT_LIST_DIR}/capture_target.c)
target_compile_options(capture_target PRIVATE -fno-builtin)
target_include_directories(capture_target PRIVATE ${PROJECT_SOURCE_DIR}/workloads)
target_link_libraries(capture_target PRIVATE Threads::Threads)
shmbench_plain_target(capture_target)

foreach(_part target sqlite errors)
  set(_labels cli)
  if(_part STREQUAL "target")
    list(APPEND _labels multiproc)
  endif()
  shmbench_add_test(capture_${_part} LABELS ${_labels}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/capture_test.sh ${_part}
            $<TARGET_FILE:shmbench> $<TARGET_FILE:shmbench_capture>
            $<TARGET_FILE:capture_target>)
  set_tests_properties(capture_${_part} PROPERTIES TIMEOUT 60)
endforeach()
