"""Evaluation scripts: parse quality and retrieval figures over the test corpus."""
