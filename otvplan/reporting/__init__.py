"""Reporting: plan.json, Markdown/HTML reports and tables (:mod:`~otvplan.reporting.report`),
figures (:mod:`~otvplan.reporting.plotting`, matplotlib imported on call) and CCSDS OEM/OPM and
GMAT exports (:mod:`~otvplan.reporting.exports`)."""
