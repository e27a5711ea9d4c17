"""NLP stage: language id, city linking, topics, sentiment, the tagging pipeline."""
