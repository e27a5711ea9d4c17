"""Reports stage: monthly report and the CICII influence index."""
