"""Static, self-contained HTML report of a results folder (catalogue and one card per concept)."""

from scconcepts.report._html import REPORT_HTML, refresh_report, render_report, write_report

__all__ = ["REPORT_HTML", "refresh_report", "render_report", "write_report"]
