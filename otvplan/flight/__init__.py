"""Flight: what a plan does when flown. The numerical propagator
(:mod:`~otvplan.flight.propagation`), the analytic mean-element history of a plan
(:mod:`~otvplan.flight.trajectory`) and verification by propagation
(:mod:`~otvplan.flight.verify`)."""
