"""The cross-check's student side: run one compute_gradcam answer on the hidden cases.

    python crosscheck_child.py WORKDIR

WORKDIR holds ``student_cell.py`` (the answer cell, filtered to imports and
definitions), ``cases.json``, ``inputs.npz`` and ``models/*.npz`` (weights). Writes
``outputs.npz`` (one map per case that returned) and ``errors.json``.
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
    checks = {}
    exec(compile(open(os.path.join(workdir, "checks.py")).read(), "checks.py", "exec"), checks)
    models = {}
    for name in sorted({case["model"] for case in cases}):
        model = checks["_gc_build"](name, _gc_models)
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
    outputs = {}
    function = namespace.get("compute_gradcam")
    if not callable(function):
        errors.setdefault("*", "compute_gradcam is not defined / compute_gradcam が定義されていません")
    else:
        for case in cases:
            key = case["key"]
            try:
                model = models[case["model"]]
                # layer names are generated per process: resolve "first"/"last" here
                layer = checks["_gc_layer"](model, case["layer"])
                result = function(model, inputs[key].copy(), layer, case["class_index"])
                outputs[key] = np.array(result, dtype=np.float64)
            except BaseException as error:  # noqa: BLE001
                errors[key] = "".join(traceback.format_exception_only(type(error), error)).strip()[-500:]
    out = os.path.join(workdir, "out")
    np.savez(os.path.join(out, "outputs.npz"), **outputs)
    with open(os.path.join(out, "errors.json"), "w") as handle:
        json.dump(errors, handle)


if __name__ == "__main__":
    main(sys.argv[1])
