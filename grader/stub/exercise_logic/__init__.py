"""Stand-in for exercise_logic inside the cross-check sandbox: every attribute is a tripwire.

A compute_gradcam answer must be self-contained; importing exercise_logic at
the top of the cell is harmless, calling anything from it fails the case.
"""


class DelegationError(RuntimeError):
    pass


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def tripwire(*args, **kwargs):
        raise DelegationError(
            f"exercise_logic.{name} is not available while grading compute_gradcam: implement it yourself / "
            f"採点中は exercise_logic.{name} を使えません。自分で実装してください")
    return tripwire
