"""Reporting: the report set (:mod:`~otvplan.reporting.report`, which re-exports plan.json
from :mod:`~otvplan.reporting.planjson`, the CSV files and table rows from
:mod:`~otvplan.reporting.tables` and the Markdown/HTML renderings from
:mod:`~otvplan.reporting.render`), figures (:mod:`~otvplan.reporting.plotting`, styled by
:mod:`~otvplan.reporting.figstyle`, matplotlib imported on call) and CCSDS OEM/OPM and GMAT
exports (:mod:`~otvplan.reporting.exports`)."""
