"""Ingest stage: sources (feeds, news search, GDELT, files), fetching, normalization, dedupe."""
