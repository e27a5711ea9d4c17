"""Alerts stage: detectors, alert episodes and their lifecycle, notifiers, backtests."""
