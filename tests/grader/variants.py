"""Student answers for the compute_gradcam cell: correct ones, each listed mistake, cheats.

Each variant is the full text of the answer cell. Most are the reference
solution with one edit, so every mistake differs from a correct answer in
exactly one place. ``EXPECTED_FAILS`` (computed by the fast layer and asserted
by the end-to-end test) says which test cells each one must fail.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

from assignments.gradcam.spec import TEST_CELLS

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = (ROOT / "assignments" / "gradcam" / "solution_cell.py").read_text()
BASE = "\n".join(line for line in SOLUTION.splitlines() if "### " not in line) + "\n"


def _edit(*pairs: tuple[str, str], base: str = BASE) -> str:
    text = base
    for old, new in pairs:
        assert old in text, f"variant edit does not apply: {old!r}"
        text = text.replace(old, new)
    return text


RESIZE = 'cam = tf.image.resize(cam[..., tf.newaxis], (height, width), method="bilinear")[..., 0]'

NUMPY = '''
import numpy as np
import tensorflow as tf
import keras


def _bilinear(cam, height, width):
    """Half-pixel-centre bilinear resize in NumPy (what tf.image.resize does)."""
    h, w = cam.shape
    ys = np.clip((np.arange(height) + 0.5) * h / height - 0.5, 0, h - 1)
    xs = np.clip((np.arange(width) + 0.5) * w / width - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = cam[y0][:, x0] * (1 - fx) + cam[y0][:, x1] * fx
    bottom = cam[y1][:, x0] * (1 - fx) + cam[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    conv = model.get_layer(last_conv_layer_name)
    dense = model.layers[-1]
    tap = keras.Model(model.inputs, [conv.output, dense.input])
    x = tf.constant(np.asarray(img_array, dtype=np.float32))
    with tf.GradientTape() as tape:
        maps, feats = tap(x)
        z = feats @ dense.kernel + dense.bias
        if z.shape[1] == 1:
            target = z[0, 0] * (-1.0 if class_index == 0 else 1.0)
        else:
            target = z[0, int(np.argmax(z[0])) if class_index is None else class_index]
    g = tape.gradient(target, maps)[0].numpy().astype(np.float64)
    a = maps[0].numpy().astype(np.float64)
    alpha = g.mean(axis=(0, 1))
    cam = np.maximum(np.tensordot(a, alpha, axes=([2], [0])), 0.0)
    if cam.max() > 0:
        cam = cam / cam.max()
    return _bilinear(cam, x.shape[1], x.shape[2]).astype(np.float32)
'''

# The sigmoid probability (1 - p for "normal") instead of the logit, and
# resize-then-normalise: both give the same map after normalisation.
PROBABILITY = '''
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    grad_model = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output,
                                            head.output, head.input])
    with tf.GradientTape() as tape:
        conv, probs, feats = grad_model(img_array)
        if probs.shape[-1] == 1:
            score = 1.0 - probs[0, 0] if class_index == 0 else probs[0, 0]
        else:
            logits = tf.matmul(feats, head.kernel) + head.bias
            score = logits[0, tf.argmax(logits[0]) if class_index is None else class_index]
    grads = tape.gradient(score, conv)
    alpha = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(alpha * conv, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, tf.shape(img_array)[1:3])[0, :, :, 0]
    cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam))
    return cam.numpy()
'''

# tf.function, einsum and a helper in the same cell.
TF_FUNCTION = '''
import tensorflow as tf
import keras


def _logit_score(logits, class_index):
    if logits.shape[-1] == 1:
        return logits[:, 0] if class_index in (None, 1) else -logits[:, 0]
    if class_index is None:
        class_index = tf.argmax(logits[0])
    return tf.gather(logits, class_index, axis=1)


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    tap = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])

    @tf.function
    def run(x):
        with tf.GradientTape() as tape:
            a, f = tap(x)
            s = _logit_score(tf.matmul(f, head.kernel) + head.bias, class_index)
        g = tape.gradient(s, a)
        cam = tf.nn.relu(tf.einsum("nhwk,nk->nhw", a, tf.reduce_mean(g, axis=(1, 2))))
        cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True))
        return tf.image.resize(cam[..., None], tf.shape(x)[1:3], method="bilinear")[0, :, :, 0]

    return run(tf.convert_to_tensor(img_array, tf.float32)).numpy()
'''

CORRECT = {
    "c_reference": BASE,
    "c_numpy": NUMPY,
    "c_probability": PROBABILITY,
    "c_tf_function": TF_FUNCTION,
}

MISTAKES = {
    "m_no_relu": _edit(("cam = tf.nn.relu(cam)", "pass")),
    "m_abs": _edit(("cam = tf.nn.relu(cam)", "cam = tf.abs(cam)")),
    "m_max_pool": _edit(("tf.reduce_mean(grads, axis=(1, 2))", "tf.reduce_max(grads, axis=(1, 2))")),
    "m_channel_pool": _edit(
        ("weights = tf.reduce_mean(grads, axis=(1, 2))", "weights = tf.reduce_mean(grads, axis=-1)"),
        ("activations * weights[:, None, None, :]", "activations * weights[..., None]")),
    "m_weights_on_grads": _edit(("activations * weights[:, None, None, :]", "grads * weights[:, None, None, :]")),
    "m_saliency": _edit(
        ("with tf.GradientTape() as tape:", "with tf.GradientTape() as tape:\n        tape.watch(images)"),
        ("grads = tape.gradient(score, activations)", "grads = tape.gradient(score, images)"),
        ("weights = tf.reduce_mean(grads, axis=(1, 2))", "weights = tf.ones((1, images.shape[-1])) / 3.0"),
        ("activations * weights[:, None, None, :]", "grads * weights[:, None, None, :]")),
    "m_no_norm": _edit(("        cam = cam / peak\n", "        pass\n")),
    "m_sum_norm": _edit(("    peak = tf.reduce_max(cam)", "    peak = tf.reduce_sum(cam)")),
    "m_ignore_class": _edit(
        ("score = -logits[:, 0] if class_index == 0 else logits[:, 0]", "score = logits[:, 0]"),
        ("if class_index is None else int(class_index)", "")),
    "m_nearest": _edit(('method="bilinear"', 'method="nearest"')),
    "m_hw_swap": _edit(("(height, width), method", "(width, height), method")),
}

ZEROS = '''
import numpy as np


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    return np.zeros(np.asarray(img_array).shape[1:3], np.float32)
'''

CHEATS = {
    # calls the library's Grad-CAM
    "x_delegate": '''
import exercise_logic


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    return exercise_logic.compute_gradcam(model, img_array, last_conv_layer_name, class_index)
''',
    # ... through an alias bound at import time and the engine class
    "x_delegate_alias": '''
from exercise_logic.explain.methods import GradCAM
from exercise_logic.explain.api import lecture_layer_and_target as _args


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    layer, target = _args(model, last_conv_layer_name, class_index)
    return GradCAM(model, layer)(img_array, target)[0]
''',
    # zeros, with the comparison helpers monkeypatched
    "x_tamper_numpy": ZEROS + '''
import numpy.testing
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
def check_close(*args, **kwargs):
    return True
''',
    # zeros, with the library's reference replaced by zeros as well
    "x_tamper_reference": ZEROS + '''
import exercise_logic
import exercise_logic.explain.api
exercise_logic.compute_gradcam = compute_gradcam
exercise_logic.explain.api.compute_gradcam = compute_gradcam
exercise_logic.gradcam = lambda model, images, *a, **k: np.zeros(np.asarray(images).shape[:3], np.float32)
''',
    # zeros, and every later cell blanked by an input transformer
    "x_blank": ZEROS + '''
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
''',
    # a Python loop that never ends, at definition time (top level)
    "x_infinite_loop": ZEROS + '''
while True:
    pass
''',
    # the kernel process exits
    "x_os_exit": ZEROS + '''
import os
os._exit(3)
''',
}

VARIANTS = {**CORRECT, **MISTAKES, **CHEATS}

# A submission that tries to read the grader's secrets; it prints what it found.
SNOOP = BASE + '''
import glob, os
_found = []
for _pattern in ["../../../gradebook.db", "../../../source/*/*.ipynb", "../../../submitted/*/*/*.ipynb",
                 "../../*/*/*.ipynb", SOLUTION_FILE, os.path.expanduser("~/.ssh/*")]:
    for _path in glob.glob(_pattern):
        try:
            with open(_path, "rb") as _handle:
                _handle.read(16)
            _found.append(_path)
        except OSError:
            pass
import socket
_network = [name for _, name in socket.if_nameindex() if name != "lo"]
print("SNOOPED:", _found, "NETWORK:", _network, "GRADING_ENV:", sorted(k for k in os.environ if "NBGRADER" in k),
      "EXPLORE:", os.environ.get("EXERCISE_LOGIC_EXPLORE"))
'''.replace("SOLUTION_FILE", repr(str(ROOT / "assignments" / "gradcam" / "solution_cell.py")))

ALL_CELLS = tuple(TEST_CELLS)
_ALL = set(ALL_CELLS)
# The test cells each answer must fail (the in-kernel hidden tests and the cross-check agree).
EXPECTED_FAILS = {
    **{name: set() for name in CORRECT},
    "m_no_relu": _ALL, "m_abs": _ALL, "m_max_pool": _ALL, "m_channel_pool": _ALL,
    "m_weights_on_grads": _ALL, "m_saliency": _ALL, "m_sum_norm": _ALL,
    "m_no_norm": _ALL - {"test_gradcam_known"},
    "m_nearest": _ALL - {"test_gradcam_known"},
    "m_ignore_class": _ALL - {"test_gradcam_basic"},
    "m_hw_swap": {"test_gradcam_known", "test_gradcam_shapes"},
    "x_delegate": _ALL, "x_delegate_alias": _ALL, "x_tamper_numpy": _ALL, "x_tamper_reference": _ALL,
}

# -- outcomes of autograde other than "graded", and submissions that break a limit ---------------
_SIGNATURE = 'def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):\n'


def _first(code: str) -> str:
    """The reference answer doing ``code`` first, whenever it is called."""
    assert _SIGNATURE in BASE
    return BASE.replace(_SIGNATURE, _SIGNATURE + textwrap.indent(textwrap.dedent(code).strip(), "    ") + "\n")


OUTCOMES = {
    # never returns: every test cell runs into the cell limit, the notebook into the wall time
    "x_hang": _first("while True:\n    pass"),
    # correct, but its answer cell keeps the kernel busy long enough to kill its worker meanwhile
    "x_slow_answer": BASE + "\nimport time\ntime.sleep(12)\n",
    # correct in the notebook; the cross-check's child crashes (a class body runs there as well)
    "x_crosscheck_crash": BASE + '''
class _CrashOutsideTheKernel:
    import os, sys
    if "ipykernel" not in sys.modules:
        os._exit(3)
''',
}

LIMIT_BREAKERS = {
    # one process allocates until it is stopped
    "l_memory": _first("import numpy\nhoard = []\nwhile True:\n    hoard.append(numpy.ones(10**7))"),
    # four processes, each within the limit, together over it
    "l_memory_forks": _first('''
        import os, time, numpy
        children = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                block = numpy.ones(50 * 2**20)     # 400 MiB each
                time.sleep(60)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)'''),
    # one process after another, all kept alive
    "l_processes": _first('''
        import os, time
        for _ in range(200):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)'''),
    # prints 400 KiB per call, then answers correctly
    "l_output": _first('print("x" * 400 * 1024)'),
    # writes 100 MiB per call into its working folder
    "l_disk": _first('with open("scratch.bin", "wb") as handle:\n    handle.write(b"x" * (100 * 2**20))'),
}
