"""The launcher of the Grad-CAM explorer: ``python -m demo``.

The explorer itself (layout, handlers, texts) is part of the installed
package, :mod:`exercise_logic.explorer`; this folder holds only the command
line (``__main__``), the helper that starts and stops it as a child process
for tests and benchmarks (``server_process``), and its README.
"""
