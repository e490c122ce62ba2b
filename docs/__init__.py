"""docs/outputs.py: the shown outputs of README.md and docs/, made by a real run."""
