"""nbgrader's ``Execute`` with an output budget per notebook, and cell time-outs that say their limit.

nbclient keeps every output of the kernel in the grading worker's memory and
writes it into the autograded notebook. A student who prints gigabytes would
fill both. Past ``output_limit`` bytes, :class:`LimitedExecute` drops further
output and gives the cell where the limit broke an ``OutputLimitExceeded`` error
(so a test cell scores 0 there, as nbgrader scores any cell with an error). A
cell that goes on printing runs until it ends or hits the cell time limit. The
kernel is not interrupted: an interrupt sent from here can reach the kernel
after the cell has ended, and then fail the next cell, which printed nothing.

A cell that runs past its time limit gets nbgrader's ``CellTimeoutError`` with
the limit in its message (nbgrader's own says no number), so the review can name it.
"""
from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

from .limits import Limits, cell_time_message, format_size

ERROR_NAME = "OutputLimitExceeded"


def output_size(content: dict) -> int:
    """Characters an output message adds to the notebook (text, or the encoded data of a display)."""
    if "text" in content:
        return len(content["text"])
    if "data" in content:
        return sum(len(str(value)) for value in content["data"].values())
    return sum(len(line) for line in content.get("traceback", []))


class LimitedExecute(Execute):
    output_limit = Integer(Limits().output, help="characters of output kept per notebook").tag(config=True)

    def reset_execution_trackers(self) -> None:
        super().reset_execution_trackers()
        self.output_used = 0
        self.output_exceeded = False

    def output(self, outs, msg, display_id, cell_index):
        if self.output_exceeded:
            return None
        self.output_used += output_size(msg.get("content", {}))
        if self.output_used <= self.output_limit:
            return super().output(outs, msg, display_id, cell_index)
        self.output_exceeded = True
        message = (f"output limit {format_size(self.output_limit)} exceeded: the rest of the output was dropped "
                   f"/ 出力が上限 {format_size(self.output_limit)} を超えたため、以降の出力を破棄しました")
        outs.append(NotebookNode(output_type="error", ename=ERROR_NAME, evalue=message,
                                 traceback=[f"{ERROR_NAME}: {message}"]))
        return None

    async def _async_handle_timeout(self, timeout, cell=None):
        reply = await super()._async_handle_timeout(timeout, cell)
        if reply is not None:             # the error_on_timeout reply nbgrader records in the cell
            message = cell_time_message(timeout)
            reply["content"].update(evalue=message, traceback=[f"{reply['content']['ename']}: {message}"])
        return reply
