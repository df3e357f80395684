"""Input and output: the scenario file format (:mod:`~otvplan.io.scenario`: reading with line
marks, units, schema, build, dump) and atomic file writes (:mod:`~otvplan.io.atomicio`)."""
