# lfslab: the lock-free slab.  One program, parts by argument
# (tests/test_lfslab.c says what each checks).
shmbench_test(test_lfslab LABELS unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lfslab.c)
shmbench_add_test(test_lfslab_churn LABELS multiproc COMMAND test_lfslab churn)
shmbench_add_test(test_lfslab_aba LABELS multiproc COMMAND test_lfslab aba)
shmbench_add_test(test_lfslab_crash LABELS multiproc crash COMMAND test_lfslab crash)
set_tests_properties(test_lfslab_churn test_lfslab_aba test_lfslab_crash PROPERTIES TIMEOUT 120)

# Builds of the allocator compiled into the test itself, with test hooks or
# a weakened tag: lfslab's own sources and the substrate, nothing else (no
# registry, no library copy of lfslab), so no symbol is defined twice.
function(lfslab_test_build name)
  add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/test_lfslab.c ${SHMBENCH_LFSLAB_SOURCES})
  target_link_libraries(${name} PRIVATE shmbench_substrate)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(${name} PRIVATE ${ARGN})
endfunction()

# Hooks: stalls in the pop window (the stress must still pass with the full
# tag), and workers stopped where a crash leaves an orphan.
lfslab_test_build(test_lfslab_hooks LFSLAB_TEST_HOOKS)
shmbench_add_test(test_lfslab_hooks LABELS multiproc crash COMMAND test_lfslab_hooks hooks)

# Mutation check: with a 2-bit partial-stack tag and the same stalls, the ABA
# stress must be caught (the test passes when it is).
lfslab_test_build(test_lfslab_tag2 LFSLAB_TEST_HOOKS LFSLAB_TAG_BITS=2)
shmbench_add_test(test_lfslab_tag2 LABELS multiproc COMMAND test_lfslab_tag2 aba)
set_tests_properties(test_lfslab_hooks test_lfslab_tag2 PROPERTIES TIMEOUT 120)

# Thread mode under ThreadSanitizer (docs/lfslab.md), in plain builds only
# (it cannot be combined with the address sanitizer): threads stand in for
# processes, each with its own worker index.  The whole substrate is compiled
# into the test under the sanitizer, so that it sees the lock's acquire and
# release; the test links nothing else of the project.
if(NOT SHMBENCH_SANITIZE)
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=thread)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=thread)
  check_c_source_compiles("int main(void) { return 0; }" SHMBENCH_HAVE_TSAN)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(SHMBENCH_HAVE_TSAN)
    get_target_property(_substrate_sources shmbench_substrate SOURCES)
    list(TRANSFORM _substrate_sources PREPEND "${PROJECT_SOURCE_DIR}/alloc/")
    add_executable(test_lfslab_tsan ${CMAKE_CURRENT_LIST_DIR}/test_lfslab.c
                   ${SHMBENCH_LFSLAB_SOURCES} ${_substrate_sources})
    target_include_directories(test_lfslab_tsan PRIVATE ${CMAKE_CURRENT_LIST_DIR}
                               ${PROJECT_SOURCE_DIR}/alloc)
    target_link_libraries(test_lfslab_tsan PRIVATE Threads::Threads rt m ${CMAKE_DL_LIBS})
    target_compile_definitions(test_lfslab_tsan PRIVATE LFSLAB_THREAD_INDEX)
    target_compile_options(test_lfslab_tsan PRIVATE -fsanitize=thread)
    target_link_options(test_lfslab_tsan PRIVATE -fsanitize=thread)
    if(SHMBENCH_COVERAGE)
      # gcov's counters are plain globals: threads updating them race
      target_compile_options(test_lfslab_tsan PRIVATE -fprofile-update=atomic)
    endif()
    shmbench_add_test(test_lfslab_tsan LABELS tsan COMMAND test_lfslab_tsan threads)
    set_tests_properties(test_lfslab_tsan PROPERTIES TIMEOUT 120
                         ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1:exitcode=66")
  else()
    shmbench_skipped(test_lfslab_tsan LABELS tsan
                     WHY "the compiler cannot build with -fsanitize=thread")
  endif()
else()
  shmbench_skipped(test_lfslab_tsan LABELS tsan
                   WHY "ThreadSanitizer cannot be combined with SHMBENCH_SANITIZE=${SHMBENCH_SANITIZE}")
endif()
