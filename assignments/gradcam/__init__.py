"""The Grad-CAM assignment: test specification and notebook builder."""
