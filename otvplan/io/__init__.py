"""Input and output: the scenario file format (:mod:`~otvplan.io.scenario`: schema, build,
reading, writing), the YAML reader with line marks shared by scenarios and trade studies
(:mod:`~otvplan.io.yamldoc`), quantities with units (:mod:`~otvplan.io.units`), the text of
problems (:mod:`~otvplan.io.messages`) and atomic file writes (:mod:`~otvplan.io.atomicio`)."""
