"""Assignment sources of the teaching kit (nbgrader)."""
