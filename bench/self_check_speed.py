"""How long the notebook's self-check takes, in one run: first call, repeated calls, and the floor.

(a) the first ``exercise_logic.self_check(compute_gradcam, model)`` in a fresh kernel (it builds its
    models and computes the reference facts once);
(b) each later call, as after every edit of the answer cell (a correct answer; and a buggy one,
    which adds the diagnosis and the pictures);
(c) the floor: the student's function alone on the same cases (what no self-check can avoid).

    python bench/self_check_speed.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("EXERCISE_LOGIC_SELF_CHECK", None)
os.environ.pop("NBGRADER_EXECUTION", None)

import matplotlib  # noqa: E402

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "grader")]

import exercise_logic as el  # noqa: E402
from timing import best_of  # noqa: E402
from variants import VARIANTS  # noqa: E402

self_check_module = sys.modules["exercise_logic.self_check"]


def answer(variant: str):
    namespace = {}
    exec(compile(VARIANTS[variant], variant, "exec"), namespace)
    return namespace["compute_gradcam"]


def quiet(function):
    def run():
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            return function()
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import keras
    keras.utils.set_random_seed(7)
    model = el.build_model((28, 28, 3), 1)          # the lecture's CNN, one sigmoid
    correct, buggy = answer("c_reference"), answer("m_no_relu")
    start = time.perf_counter()
    quiet(lambda: el.self_check(correct, model, lang="en"))()
    first = time.perf_counter() - start
    again = best_of(args.repeats, quiet(lambda: el.self_check(correct, model, lang="en")))
    again_buggy = best_of(args.repeats, quiet(lambda: el.self_check(buggy, model, lang="en")))
    cases = [self_check_module._inputs(case, model) for case in self_check_module.CASES + self_check_module.OWN_CASES]
    floor = best_of(args.repeats, lambda: [correct(network, image.copy(), layer, case.class_index)
                                           for (network, image, _, layer, _), case in
                                           zip(cases, self_check_module.CASES + self_check_module.OWN_CASES)])
    print(f"cases: {len(cases)} (6 of the kit's, 2 on the given lecture model)")
    print(f"(a) first call in a fresh process:      {first:6.2f} s")
    print(f"(b) again, correct answer:              {again:6.2f} s  ({again / floor:.1f}x the floor)")
    print(f"(b) again, no-ReLU answer (+diagnosis, pictures): {again_buggy:6.2f} s  ({again_buggy / floor:.1f}x)")
    print(f"(c) floor, the answer alone on the cases: {floor:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
