"""Planning: leg strategies between orbits (:mod:`~otvplan.planning.legs`), the searches over
delivery orders (:mod:`~otvplan.planning.sequencing`, :mod:`~otvplan.planning.schedule`) and
the solver that turns a :class:`~otvplan.model.Scenario` into a :class:`~otvplan.model.Plan`
(:mod:`~otvplan.planning.solver`). No I/O; core kernels and the model only."""
