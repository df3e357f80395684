"""Flight: what a plan does when flown. The numerical propagator
(:mod:`~otvplan.flight.propagation`), the analytic mean-element history of a plan and the
targets carried to a time (:mod:`~otvplan.flight.trajectory`), and verification by propagation
(:mod:`~otvplan.flight.verify`, its records in :mod:`~otvplan.flight.results`)."""
