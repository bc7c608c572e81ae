"""The instructor's tool for the Grad-CAM assignment: ``python -m grader --help``."""
