"""The cross-check's student side: run one compute_gradcam answer on the hidden cases.

    python crosscheck_child.py WORKDIR

WORKDIR holds ``student_cell.py`` (the answer cell, filtered to imports and
definitions), ``cases.json``, ``inputs.npz``, ``models/*.npz`` (weights) and
``graded_checks.py`` (a copy of ``assignments/gradcam/graded_checks.py``). Writes
``outputs.npz`` (one map per graded case that returned) and ``errors.json``, then
runs the visible tests' cases for the feedback page and writes ``feedback.npz``
and ``feedback_errors.json``: the graded results are on disk before any of them.
This runs inside the sandbox; the comparison happens elsewhere.
"""
import json
import os
import sys
import traceback


def main(workdir):
    import numpy as np
    cases = json.load(open(os.path.join(workdir, "cases.json")))
    inputs = np.load(os.path.join(workdir, "inputs.npz"))
    sys.path.insert(0, workdir)
    import _gc_models                      # a copy of exercise_logic/models.py (keras only)
    import graded_checks as checks         # builds the models exactly as the hidden tests do
    models = {}
    for name in sorted({case["model"] for case in cases}):
        model = checks._gc_build(name, _gc_models)
        with np.load(os.path.join(workdir, "models", name + ".npz")) as weights:
            model.set_weights([weights[f"arr_{i}"] for i in range(len(weights.files))])
        models[name] = model
    sys.path.remove(workdir)
    namespace = {"__name__": "__main__"}
    errors = {}
    path = os.path.join(workdir, "student_cell.py")
    try:
        exec(compile(open(path).read(), path, "exec"), namespace)
    except BaseException as error:  # noqa: BLE001 - a student's definitions may raise anything
        errors["*"] = "".join(traceback.format_exception_only(type(error), error)).strip()[-500:]
    function = namespace.get("compute_gradcam")
    if not callable(function):
        errors.setdefault("*", "compute_gradcam is not defined / compute_gradcam が定義されていません")
        function = None
    out = os.path.join(workdir, "out")
    graded = [case for case in cases if case.get("hidden", True)]
    outputs, case_errors = run_cases(function, graded, models, inputs, checks)
    save(out, "outputs.npz", "errors.json", outputs, {**errors, **case_errors})
    # the visible tests' cases, for the feedback page: only once the graded maps are saved
    shown = [case for case in cases if not case.get("hidden", True)]
    save(out, "feedback.npz", "feedback_errors.json", *run_cases(function, shown, models, inputs, checks))


def run_cases(function, cases, models, inputs, checks):
    """The student's map of each case, and the error of each case that raised."""
    import numpy as np
    outputs, errors = {}, {}
    for case in cases if function is not None else ():
        key = case["key"]
        try:
            model = models[case["model"]]
            # layer names are generated per process: resolve "first"/"last" here
            layer = checks._gc_layer(model, case["layer"])
            result = function(model, inputs[key].copy(), layer, case["class_index"])
            outputs[key] = np.array(result, dtype=np.float64)
        except BaseException as error:  # noqa: BLE001
            errors[key] = "".join(traceback.format_exception_only(type(error), error)).strip()[-500:]
    return outputs, errors


def save(out, maps_name, errors_name, outputs, errors):
    import numpy as np
    np.savez(os.path.join(out, maps_name), **outputs)
    with open(os.path.join(out, errors_name), "w") as handle:
        json.dump(errors, handle)


if __name__ == "__main__":
    main(sys.argv[1])
