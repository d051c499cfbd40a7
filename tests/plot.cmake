# `shmbench plot` (tests/plot_test.sh says what it checks): every figure
# of a small suite directory made from short real runs
# (tests/plot_fixture.sh), a run directory's two, index.html, and the
# errors.  Skipped without gnuplot.
shmbench_add_test(plot_figures LABELS cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/plot_test.sh $<TARGET_FILE:shmbench>)
set_tests_properties(plot_figures PROPERTIES TIMEOUT 120)
