"""The pieces of the history analysis behind :mod:`tensorscope.analysis.regressions` (its public API).

* :mod:`.steps`        level changes in one ordered series (ours, and asv's for comparison);
* :mod:`.stability`    series that switch between two levels; runs whose samples are bimodal;
* :mod:`.series`       the verdict on one series, whole: code steps, steps its run dates explain, unstable stretches;
* :mod:`.runs`         run time as an axis; runner groups of ephemeral machines;
* :mod:`.points`       the tidy table's points as flat arrays, series after series;
* :mod:`.environment`  machine-wide environment shifts and what each explains of every series;
* :mod:`.effect`       live series, the net change in effect per series, and steps undone later;
* :mod:`.direction`    which way is better for a benchmark.
"""
