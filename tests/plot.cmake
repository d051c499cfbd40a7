# `shmbench plot` (tests/plot_test.sh says what it checks): every figure
# of a small suite directory made from short real runs
# (tests/plot_fixture.sh), a run directory's two, index.html, and the
# errors.  Skipped without gnuplot.
shmbench_add_test(plot_figures LABELS cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/plot_test.sh $<TARGET_FILE:shmbench>)
set_tests_properties(plot_figures PROPERTIES TIMEOUT 120)

# The committed reference figures (results/reference/*/plots/) are exactly
# what `shmbench plot` draws from the committed result files
# (tests/reference_plots.sh; scripts/replot.sh redraws them).
shmbench_add_test(reference_plots LABELS cli
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/reference_plots.sh $<TARGET_FILE:shmbench>)
