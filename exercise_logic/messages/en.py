"""Every message of the kit in English: message id -> text (see :mod:`exercise_logic.messages`)."""

MESSAGES = {
    # -- The language's own name (the explorer's language switch)
    'language_name': 'English',
    # -- The Grad-CAM explorer (exercise_logic.explorer)
    'explorer.title': '# Grad-CAM explorer: where did the model look?',
    'explorer.notice': '⚠️ **For education only, not for clinical use.** Neither the prediction nor the heatmap is a basis for any medical decision.',
    'explorer.language': 'Language / 言語',
    'explorer.dataset': 'Dataset',
    'explorer.model': 'Model',
    'explorer.samples': 'Test images (click to select; true labels shown)',
    'explorer.input': 'Input image (or upload your own)',
    'explorer.target': 'Class to explain',
    'explorer.layer': 'Conv layer',
    'explorer.method': 'CAM method',
    'explorer.opacity': 'Overlay opacity',
    'explorer.colormap': 'Colormap',
    'explorer.prediction': 'Prediction (class probabilities)',
    'explorer.original': 'Original (preprocessed)',
    'explorer.heatmap': 'Heatmap',
    'explorer.overlay': 'Overlay',
    'explorer.grid': 'Comparison grid (8 test images)',
    'explorer.predicted': 'predicted class',
    'explorer.explain_api': 'Explain (API)',
    'explorer.banner': '**In use:** {dataset} / model {model} / test ROC-AUC **{auc}**, accuracy **{acc}** ({n} images){source}',
    'explorer.from_cache': ' · cached model',
    'explorer.trained_now': ' · trained just now',
    'explorer.preparing': 'Preparing the data and the model…',
    'explorer.training': 'Training: epoch {epoch}/{epochs} (validation accuracy {val})',
    'explorer.lesion_hit': "🎯 **Hit:** the heatmap's peak lies on the lesion (magenta outline).",
    'explorer.lesion_miss': "❌ **Miss:** the heatmap's peak lies off the lesion (magenta outline).",
    'explorer.no_lesion': 'This image has no lesion (normal).',
    'explorer.box_hit': "🎯 **Hit:** the heatmap's peak lies in the radiologist's box (magenta frame).",
    'explorer.box_miss': "❌ **Miss:** the heatmap's peak lies outside the radiologist's box (magenta frame).",
    'explorer.no_box': "This image has no radiologist's box (NIH boxed 880 images only; it does not mean the image is normal).",
    'explorer.no_mask': "Lesion outlines exist for the synthetic test images only (ChestMNIST shows the radiologists' boxes once the instructor adds NIH's box files).",
    'explorer.flat_map': 'The heatmap is all zero (no positive contribution for this layer and class).',
    'explorer.blank_note': "⚠️ **This heatmap is blank** (all zero, or its positive part is negligible). Layer `{layer}` holds **no positive evidence for “{cls}”**: the final ReLU of {method} removed a map that was only negative. The tool is not broken: this model may recognise “{cls}” as the *absence* of the other classes' features. The **counterfactual map** (negative gradients) shows the regions whose increase would lower the score of “{cls}”: the evidence against it.",
    'explorer.blank_other_method': 'Methods with a counterfactual map: {choices}.',
    'explorer.counterfactual': 'Counterfactual map (negative gradients)',
    'explorer.counterfactual_button': 'Show the counterfactual map',
    'explorer.counterfactual_shown': '🔁 Showing the **counterfactual map** of “{cls}”: where it is red, more of the image would lower the score of “{cls}”.',
    'explorer.counterfactual_short': 'counterfactual',
    'explorer.explains': 'explains',
    'explorer.true_label': 'true',
    'explorer.pred_label': 'pred',
    'explorer.hit': 'hit',
    'explorer.miss': 'miss',
    'explorer.explanation': """### Reading the heatmap
- **Red means strong attention, blue weak** (with the jet colormap).
- Grad-CAM is **coarse**: the chosen layer's feature map is only **{map_size}**, stretched to the image size (the lecture CNN's last conv map is 11×11).
- It shows **correlation, not cause**: where the model looked for its answer, not that a disease is there.
- Look for **shortcut features**: image edges, markers, text — anything unrelated to the lesion that lights up red.""",
    'explorer.tab_explorer': 'Explorer',
    'explorer.tab_compare': 'Compare methods',
    'explorer.tab_sanity': 'Sanity check',
    'explorer.tab_lab': 'Shortcut lab',
    'explorer.compare_intro': """### Compare methods
The image selected in the Explorer tab under every method of the library (with the Explorer's class, layer, opacity and colormap).""",
    'explorer.compare_button': 'Explain with every method',
    'explorer.compare_gallery': 'Overlay per method',
    'explorer.deletion_short': 'del',
    'explorer.insertion_short': 'ins',
    'explorer.col_method': 'Method',
    'explorer.col_deletion': 'Deletion AUC (lower is better)',
    'explorer.col_insertion': 'Insertion AUC (higher is better)',
    'explorer.col_road_morf': 'ROAD MoRF (lower is better)',
    'explorer.col_road_lerf': 'ROAD LeRF (higher is better)',
    'explorer.col_pointing': 'Pointing game',
    'explorer.compare_note': "**Deletion**: replacing the most important pixels first by a blurred copy, the faster the explained class's probability falls (the lower the AUC), the more faithful the map is to the model. **Insertion**: revealing them first on the blurred copy, the faster it rises (the higher the AUC), the more faithful. Pointing game: a hit when the map's peak lies within 2 pixels of the lesion (at 28×28; Zhang et al. 2018's 15 px at 224 px, scaled). **ROAD** (Rong et al. 2022): the mean probability with 10-90% of the pixels removed and filled in from their neighbours; removing the most relevant first (MoRF), lower is more faithful; the least relevant first (LeRF), higher. Filling in from the neighbours keeps the removed shape itself from telling the model anything. One image's numbers are only a hint.",
    'explorer.compare_no_pointing': 'The pointing game needs a synthetic test image with a lesion.',
    'explorer.sanity_intro': """### Sanity check (cascading randomisation)
A copy of the model has its weights re-initialised layer by layer, from the output down, and the maps are drawn after each step (the model itself is untouched). A method that explains the model must fall apart as the weights are destroyed; one whose maps stay the same shows the image (edges, bright areas), not the model.""",
    'explorer.sanity_methods': 'Methods (several allowed)',
    'explorer.sanity_button': 'Run the randomisation',
    'explorer.sanity_gallery': 'Maps per step (rows: methods, columns: steps)',
    'explorer.step': 'step',
    'explorer.trained_model': 'trained',
    'explorer.sanity_note': 'Each cell: Spearman rank correlation ρ / SSIM with the step-0 map (1 = the same, near 0 = unrelated). Step s has the top s layers re-initialised. The nearer 0 in the last column (every layer random), the more the method depends on the model.',
    'explorer.lab_intro': """### Shortcut-learning lab
Two models are trained on the synthetic chest X-rays (28×28): the **shortcut model** on data where the small "L" marker in the top-left corner follows the label, the **control** on data where it does not. On the test set the marker is independent of the label. Trained models are cached: the second run shows at once.""",
    'explorer.lab_model': 'Model',
    'explorer.lab_strength': 'Marker-label correlation',
    'explorer.lab_epochs': 'Epochs',
    'explorer.lab_button': 'Run the lab',
    'explorer.lab_figure': 'Figure (left: accuracies; right: abnormal-class Grad-CAM, dashed box = marker)',
    'explorer.lab_training': 'Training model {model}/{total}: epoch {epoch}/{epochs} (validation accuracy {val})',
    'explorer.lab_shortcut': 'Shortcut model',
    'explorer.lab_control': 'Control',
    'explorer.lab_val': 'Validation accuracy',
    'explorer.lab_test': 'Test accuracy',
    'explorer.lab_drop': 'Accuracy drop (points)',
    'explorer.lab_marker_peak': 'Abnormal maps peaking on the marker',
    'explorer.lab_pointing': 'Lesion pointing game',
    'explorer.upload_model': 'Upload your own model (.keras)',
    'explorer.upload_button': 'Choose a .keras file',
    'explorer.upload_intro': "Load the file you saved in the notebook with `model.save('my_model.keras')`; it is then explained as “your uploaded model” (the Model menu above). Only **this browser tab** can use it (nobody else sees it) and it is deleted when the tab closes. For safety, models that contain code (Lambda layers and the like) are refused.",
    'explorer.upload_ok': '✅ `{name}` is loaded: input {shape}, {convs} conv layers, output {outputs}.',
    'explorer.uploaded_model': 'your uploaded model',
    'explorer.own_images': 'your images',
    'explorer.own_model': 'your model',
    'explorer.banner_unlabelled': '**In use:** {dataset} / model {model} ({n} images, no labels)',
    'explorer.server_started': '[demo] Grad-CAM explorer: {url}  (Ctrl-C to stop)',
    'explorer.explore_off': '[explore] ${switch}=off: the explorer is not opened here (e.g. while grading).',
    'explorer.server_stopped': '[demo] stopped.',
    'explorer.not_trained_yet': '[demo] {model}: not trained yet; open the page to train it with a progress bar.',
    'explorer.err_no_image': 'No image: pick a test image or upload one.',
    'explorer.err_target': 'Class {value!r} does not exist for this model; choose one of: {choices}',
    'explorer.err_layer': 'Layer {value!r} does not exist in this model; choose one of: {choices}',
    'explorer.err_method': 'Unknown CAM method {value!r}; choose one of: {choices}',
    'explorer.err_opacity': 'Opacity must be a number from 0 to 1 ({value!r}).',
    'explorer.err_colormap': 'Unknown colormap {value!r}; choose one of: {choices}',
    'explorer.err_dataset': 'Dataset {value!r} is not available on this computer.',
    'explorer.err_transfer_offline': 'The transfer model needs the ImageNet weights of MobileNetV2, which are not on this computer. This app never downloads anything; train it once in the lecture notebook, or choose simple / deeper.',
    'explorer.err_methods': 'Choose at least one known method (unknown: {value}); the methods are: {choices}',
    'explorer.err_lab_model': 'Unknown lab model {value!r}; choose one of: {choices}',
    'explorer.err_strength': 'The marker-label correlation must be a number above 0 and at most 1 ({value!r}).',
    'explorer.err_epochs': 'Epochs must be a whole number from 1 to {max} ({value!r}).',
    'explorer.err_model': 'Could not prepare the model: {error}',
    'explorer.err_counterfactual': '{method} has no counterfactual map; choose one of: {choices}',
    'explorer.err_no_upload': 'No uploaded model yet: upload your .keras file below first.',
    'explorer.err_upload_type': "{name}: not a .keras file. Save your model in the notebook with model.save('my_model.keras').",
    'explorer.err_upload_size': '{name}: the file is too large ({size:.1f} MB; the limit is {limit:.0f} MB).',
    'explorer.err_upload_unsafe': "{name}: models that contain code (a Lambda layer or a custom class) are refused for safety. Rebuild it from Keras' built-in layers and save it again. ({error})",
    'explorer.err_upload_broken': '{name}: the file is damaged or not a Keras model ({error}). Save it again.',
    'explorer.err_upload_input': '{name}: the model must take one image input (height, width, 1 or 3 channels); its input is {shape}.',
    'explorer.err_upload_no_conv': "{name}: the model has no 2D convolution layer (Conv2D or similar); Grad-CAM explains a conv layer's maps.",
    'explorer.err_upload_output': '{name}: its output {shape} is not one the explorer understands: one output with 1 unit (sigmoid: normal/abnormal) or one unit per class ({classes} for this data).',
    'explorer.err_upload_image_size': '{name}: the model takes {size}×{size} images, but there is no data at that size (available: {sizes} px).',
    'explorer.err_upload_run': '{name}: the model failed on a test image ({error}).',
    'explorer.err_internal': 'Something went wrong ({error}). Try another image or setting.',
    # -- The explorer's names of models and datasets
    'explorer.model_name.simple': 'lecture CNN (simple)',
    'explorer.model_name.deeper': 'deeper CNN (deeper)',
    'explorer.model_name.transfer': 'transfer learning, MobileNetV2 (transfer)',
    'explorer.dataset_name.synthetic': 'synthetic chest X-rays',
    'explorer.dataset_name.chestmnist': 'ChestMNIST (normal/abnormal)',
    'explorer.no_finding': 'no finding',
    'explorer.class_number': 'class {number}',
    'explorer.error_title': 'Error',
    'explorer.log_in': 'Log in with the name and password your instructor gave you.',
    'explorer.page_title': 'explorer',
    'explorer.needs_gradio': "explore() needs Gradio: reinstall the kit with the `[demo]` extra (e.g. `pip install 'exercise-logic[cpu,demo] @ git+<kit URL>'`), or `pip install gradio`.",
    # -- The recipe's steps (exercise_logic.diagnosis)
    'recipe_step.gradients': 'step 1, gradients',
    'recipe_step.weights': 'step 2, channel weights',
    'recipe_step.sum': 'step 3, weighted sum',
    'recipe_step.relu': 'step 4, ReLU',
    'recipe_step.normalise': 'step 5, normalise',
    'recipe_step.upsample': 'step 6, upsample',
    # -- The known Grad-CAM mistakes: name and hint (exercise_logic.diagnosis)
    'mistake.no_relu.name': 'ReLU missing',
    'mistake.no_relu.hint': 'negative values are not set to 0 after the weighted sum (your map keeps them).',
    'mistake.abs.name': '|·| instead of ReLU',
    'mistake.abs.hint': 'negative values are flipped to positive; they are evidence against the class, so set them to 0.',
    'mistake.no_normalisation.name': 'not normalised',
    'mistake.no_normalisation.hint': 'the map is not divided by its maximum, so its largest value is not 1.',
    'mistake.sum_normalisation.name': 'normalised by the sum',
    'mistake.sum_normalisation.hint': 'divide by the maximum, not the sum (dividing by the sum does not make the largest value 1).',
    'mistake.nan_on_zero.name': 'division by zero (NaN)',
    'mistake.nan_on_zero.hint': 'an all-zero map is divided by its maximum, 0. When the maximum is 0, return the zeros as they are.',
    'mistake.nearest.name': 'nearest-neighbour upsampling',
    'mistake.nearest.hint': 'the upsampled map is blocky: resize it to the input size with bilinear interpolation.',
    'mistake.height_width_swapped.name': 'height and width swapped',
    'mistake.height_width_swapped.hint': 'the map is resized to (width, height); the size is given as (height, width).',
    'mistake.class_index_ignored.name': 'class_index ignored',
    'mistake.class_index_ignored.hint': "your map always explains the same class (the predicted one, or 'abnormal'). Differentiate the score of the class given by class_index (for 'normal' (0) of a binary model, the negated score).",
    'mistake.layer_ignored.name': 'last_conv_layer_name ignored',
    'mistake.layer_ignored.hint': 'your map always uses last_conv_layer instead of the layer it is given.',
    'mistake.wrong_tensor.name': 'gradients of the wrong tensor',
    'mistake.wrong_tensor.hint': "you use the gradients with respect to the input image; use those with respect to the chosen conv layer's output (the activations A).",
    'mistake.wrong_pooling_axis.name': 'pooling over the wrong axis',
    'mistake.wrong_pooling_axis.hint': 'a channel weight is one number per channel: its gradients averaged over both height and width.',
    'mistake.max_pooled_gradients.name': 'gradients max-pooled',
    'mistake.max_pooled_gradients.hint': "a channel weight is the mean of the channel's gradients, not their maximum.",
    'mistake.gradients_not_pooled.name': 'gradients not averaged',
    'mistake.gradients_not_pooled.hint': "the gradients multiply the activations element by element; average each channel's gradients into one weight first.",
    'mistake.weights_on_gradients.name': 'weights applied to the gradients',
    'mistake.weights_on_gradients.hint': "the weighted sum must run over the activations A (the conv layer's output), not the gradients.",
    'mistake.all_zero.name': 'an all-zero map',
    'mistake.all_zero.hint': 'your map is all zeros everywhere. Print the gradients, the weights and the weighted sum in turn to see where it becomes zero.',
    # -- The self-check of a student's compute_gradcam (exercise_logic.self_check)
    'self_check.title': 'Self-check (not graded: the hidden tests decide the grade)',
    'self_check.all_well': '✓ All is well: your maps match the reference on every case. Ready to submit (the hidden tests check other models, layers and classes).',
    'self_check.failed': '✗ Your maps differ from the reference on {failed} of {total} cases.',
    'self_check.mistake': 'Likely mistake: {name}',
    'self_check.two_at_once': 'Likely mistakes ({count} at once):',
    'self_check.one_of': 'Likely mistake (one of these):',
    'self_check.evidence': '  Why: {evidence}',
    'self_check.hint': '  Hint ({step}): {hint}',
    'self_check.no_match': 'None of the known mistakes fits. Check the recipe (gradients → channel weights → weighted sum → ReLU → normalise → upsample) step by step, printing what each step gives.',
    'self_check.raised': 'error: {error}',
    'self_check.seconds': '({seconds:.1f} s)',
    'self_check.off': 'The self-check does not run while grading (${switch}=off).',
    'self_check.yours': 'your map',
    'self_check.reference': 'reference map',
    'self_check.legend': 'yellow to red = positive (attention), blue = negative, grey = NaN, magenta line = lesion',
    # -- The self-check's cases
    'self_check.case.lecture_predicted': "the lecture's CNN (one sigmoid), class_index=None",
    'self_check.case.lecture_normal': "the lecture's CNN, class_index=0 (normal)",
    'self_check.case.lecture_first_layer': "the lecture's CNN, the first conv layer",
    'self_check.case.multi_predicted': 'a 4-class CNN (softmax), class_index=None',
    'self_check.case.multi_class_2': 'a 4-class CNN, class_index=2',
    'self_check.case.non_square': 'a non-square input (height 24, width 32)',
    'self_check.case.yours_predicted': 'your model, class_index=None',
    'self_check.case.yours_normal': 'your model, class_index=0',
    # -- The Grad-CAM assignment's notebooks (assignments/gradcam/build_source.py)
    'gradcam_notebook.title': """# Lecture 3 exercise: implement Grad-CAM yourself

## Learning goals
- Implement the Grad-CAM computation by hand (gradients → channel weights → weighted sum → ReLU → normalisation → upsampling)
- Visualise where the AI "looks" when it decides, and discuss whether that is medically plausible and where it stops being useful

**How to run**: press `Shift + Enter` on each cell from the top. If the session drops, run everything again from the top.

**Grading**: `compute_gradcam` is graded automatically (10 points); the three discussion questions at the end are graded by your instructor (2 points each).
Do not edit the test cells (🔒). The autograder takes only your `compute_gradcam` cell and compares it with the reference
implementation on hidden tests (other models, other layers, other classes, non-square images).
Put every import and definition your function needs into the `compute_gradcam` cell itself.""",
    'gradcam_notebook.kit': """## Step 0: setup
Where your instructor has installed the kit (`exercise_logic`, the lecture's helper library), on a JupyterHub or your own PC, just run
the next two cells. Where it is missing, e.g. on Google Colab, first put the install source your instructor gave you (a pip-installable
git URL or wheel file) into `KIT_SOURCE` in the next cell. The setup cell says in one line what it found, and how.""",
    'gradcam_notebook.data': """## Step 1: load the data
ChestMNIST (chest X-rays) is used when it is available locally; otherwise the offline synthetic data set.
Both are **binary** (normal 0 / abnormal 1).""",
    'gradcam_notebook.train': """## Step 2: train (or load) the lecture's CNN
The same CNN as in the lecture (Conv32 → MaxPool → Conv64 `last_conv_layer` → MaxPool → Flatten → Dense64 → Dropout → Dense(1, sigmoid)).
A trained model is cached, so the second run loads it at once.""",
    'gradcam_notebook.contract': r"""## Step 3: implement Grad-CAM

Complete `compute_gradcam(model, img_array, last_conv_layer_name='last_conv_layer', class_index=None)`.

**Input**: `img_array`, a float image of shape `(1, H, W, C)` (a batch of one).
**Output**: a float array of shape `(H, W)` (the input's height and width) with values in `[0, 1]`.

**Steps** ($A^k$ is channel $k$ of the output of layer `last_conv_layer_name`, of size $h \times w$):
1. **Score $y$**: the value **before** the output activation (sigmoid / softmax), the logit $z$.
   - The lecture's binary model (one sigmoid output): `class_index` `1` or `None` explains "abnormal", $y = z$; `0` explains "normal", $y = -z$.
     (Differentiating the sigmoid probability $p$, or $1-p$, gives the same map after normalisation.)
   - A multi-class (softmax) model: $y = z_c$; `class_index=None` means the predicted class $c = \arg\max z$.
2. **Gradients**: $G^k = \partial y / \partial A^k$ (`tf.GradientTape`).
3. **Channel weights**: $\alpha_k = \frac{1}{h w}\sum_{i,j} G^k_{ij}$ (the **spatial mean**).
4. **Weighted sum and ReLU**: $L = \mathrm{ReLU}\left(\sum_k \alpha_k A^k\right)$ (shape $h \times w$).
5. **Normalise**: divide $L$ by its maximum. An all-zero map stays zero (never divide by 0).
6. **Upsample**: `tf.image.resize(..., (H, W), method="bilinear")` to the input size `(H, W)` (height first).

**Hint**: the lecture's model has the sigmoid/softmax fused into its last Dense layer. Get the conv output and the logits like this:
```python
head = model.layers[-1]                      # the output Dense layer
features = img_array
for layer in model.layers[:-1]:              # run the layers one by one (inside the GradientTape)
    features = layer(features, training=False)
    if layer.name == last_conv_layer_name:
        conv_out = features                  # A: the chosen conv layer's output
logits = features @ head.kernel + head.bias  # the value before sigmoid/softmax
```
(`keras.Model(model.inputs, [conv.output, ...])` works on a freshly built model but can give no gradients on a model loaded from a file.)
`exercise_logic.compute_gradcam` is the reference implementation. **Your function may not call it: the grader blocks that.**""",
    'gradcam_notebook.self_check': """### Self-check before you submit
The next cell compares your `compute_gradcam` with the reference implementation on a few synthetic chest X-rays with a lesion
(the lecture's CNN, a 4-class CNN, a non-square image, the first conv layer, your model). Where they differ it names the likely
mistake with a hint to the step of the recipe, and draws your map beside the reference map over the X-ray. It takes about a
second, so run it after every edit. **It is not graded** (the hidden tests decide the grade).""",
    'gradcam_notebook.tests': """### 🔒 Tests (do not edit)
Run the next cells for quick feedback on obvious mistakes. The grade comes from hidden tests.""",
    'gradcam_notebook.use': """## Step 4: use it on several images
Your `compute_gradcam` overlaid on 8 test images (red = strong focus, blue = little focus).
The cell after it shows the reference implementation (`exercise_logic.show_gradcam_comparison`) for comparison.""",
    'gradcam_notebook.discuss': """## Step 5: discussion
Answer each question in your own words (graded by your instructor).""",
    'gradcam_notebook.q1_where': '**Question 1.** Where does the model look? Describe it concretely from the heatmaps of Step 4.',
    'gradcam_notebook.q2_plausible': '**Question 2.** Is that focus medically plausible? Include how you would check it.',
    'gradcam_notebook.q3_clinic': '**Question 3.** What is explainable AI such as Grad-CAM worth in a clinic, and what are its limits?',
    'gradcam_notebook.answer.q1_where': """(Model answer) On chest X-rays the maps often highlight the lung fields, the cardiac silhouette or the diaphragm, but the model may also react to the background or the image border.
Ideally a lesion's surroundings light up; the model may, however, have learnt "shortcut" features such as acquisition conditions, markers or text.""",
    'gradcam_notebook.answer.q2_plausible': """(Model answer) Check whether the focus lies on anatomically meaningful regions (lungs, heart). Strong focus on the border, background or text suggests the model learnt the wrong features.
Compare with where clinicians look, and check consistency with external validation across sites and devices.""",
    'gradcam_notebook.answer.q3_clinic': """(Model answer) Useful for debugging and quality control (finding reliance on the wrong regions) and for teaching (discussing which regions match which findings).
But the maps are coarse and do not prove a causal basis, so read them together with performance evaluation and external validation. Explainability is no universal requirement:
transparency, evaluation and monitoring must be matched to the intended use and its risks.""",
    # -- The shortcut-learning lab's notebooks (assignments/shortcut_lab/build_notebooks.py)
    'shortcut_lab_notebook.title': """# Shortcut-learning lab: does the AI really look at the lesion?

The lecture's Grad-CAM exercise asked three questions:

1. Where in the image does the AI look?
2. Is that region medically plausible?
3. What are the limits of explainable AI such as Grad-CAM? (coarse, not causal, fooled by "shortcut features" such as markers and text)

This lab **tests the third question by experiment**. The synthetic chest X-rays can carry a small "L" marker in the top-left corner, like a radiographer's lead marker.
If, in the training data, the marker almost always comes with the "abnormal" label, will the AI learn the marker instead of the lesions?

**How to run**: press `Shift + Enter` on each cell from the top. This lab is not graded; write your thoughts in the cells under the questions.""",
    'shortcut_lab_notebook.step1': """## Step 1: look at the data

Compare how the marker appears in the training data (correlated with the label) and in the test data (independent of the label).
The dashed white box is the marker's corner; green outlines are the lesions (ground-truth masks).""",
    'shortcut_lab_notebook.q_predict': """### Question 1 (predict)
In the training data, "marker present ≈ abnormal". How accurate do you expect a model trained on it to be on the test data, where the marker is independent of the label?
Where do you expect its Grad-CAM to be red? Write your prediction before running the next cells.""",
    'shortcut_lab_notebook.answer': '(write your answer here)',
    'shortcut_lab_notebook.step2': """## Step 2: train two models and compare them

- **Shortcut model**: trained with the marker correlated with the label (strength `STRENGTH`)
- **Control model**: trained with markers that are independent of the label

Trained models are cached, so a second run finishes at once.""",
    'shortcut_lab_notebook.q_accuracy': """### Question 2 (accuracy)
How different were the shortcut model's validation and test accuracies? And the control's?
What does the accuracy on "images whose marker contradicts the label" tell you? What would you have missed had you evaluated on the validation data only?""",
    'shortcut_lab_notebook.step3': """## Step 3: do other explanation methods see the marker too?

Count, for methods other than Grad-CAM, how often the shortcut model's abnormal-class explanation peaks in the marker corner.
`marker peaks` is the fraction of test images with a marker whose map peaks in the marker corner;
`pointing game` is the fraction of abnormal images whose map peaks on a lesion (within 2 pixels).""",
    'shortcut_lab_notebook.q_methods': """### Question 3 (methods differ)
The control model should not use the marker (its test accuracy did not drop). Yet with some methods its maps still peak in the marker corner.
Why do you think that is? When hunting for shortcuts, can you trust a single explanation method?""",
    'shortcut_lab_notebook.step4': """## Step 4: is the explanation faithful to the model? (deletion and insertion curves)

Replace pixels with a blurred copy of the image, most important first (deletion): with a faithful map the probability of "abnormal" falls quickly (lower AUC is better).
Reveal the original pixels on the blurred copy, most important first (insertion): the probability should rise quickly (higher AUC is better).""",
    'shortcut_lab_notebook.q_discuss': """### Question 4 (discussion)
1. How did the shortcut model's Grad-CAM answer the lecture's question "where does the AI look"? Is that region medically plausible?
2. In real hospital data, what could play the role of this lab's "marker"? (e.g. the scanner, the hospital, a "PORTABLE" text label, a laterality marker...)
3. Why is a Grad-CAM that seems to look at the lesion not enough on its own to trust a model? Which evaluations should go with it?""",
    'shortcut_lab_notebook.summary': """## Summary

- If the training data holds an accidental cue (a shortcut), an AI may learn the cue instead of the lesions
- If the validation data holds the same cue, the accuracy looks high and the problem stays hidden: evaluate on data where the cue is **independent** of the label (external validation)
- Grad-CAM **helps find** shortcuts, but it is coarse and not causal: interpret it together with accuracy on independent data and faithfulness metrics""",
    # -- The grader's feedback pages (grader/feedback.py)
    'feedback.title': 'Autograded result (compute_gradcam)',
    'feedback.official_score': 'This is the official autograded score; the per-cell scores below are indicative.',
    'feedback.xray_title': 'chest X-ray (synthetic, magenta line = lesion)',
    'feedback.noise_title': "the visible test's image",
    'feedback.test_image': "the test's image",
    'feedback.your_map': 'your map',
    'feedback.reference_map': 'reference map',
    'feedback.difference': 'difference (yours − reference)',
    'feedback.legend': 'Colours over the X-ray: yellow to red = positive (attention), blue = negative, grey = NaN.',
    'feedback.hidden_only': 'On this image your map matches the reference: the difference shows on the hidden tests (other models, classes or layers).',
    'feedback.no_match': 'None of the known mistakes fits your maps. Check the recipe (gradients → channel weights → weighted sum → ReLU → normalise → upsample) step by step, printing what each step gives.',
    'feedback.first_conv_layer': 'the first conv layer',
    'feedback.likely_mistake': 'Likely mistake',
    'feedback.no_maps': 'Your function returned no map on any test (see the messages above).',
    'feedback.mistakes_at_once': '{count} mistakes at once.',
    'feedback.one_of': 'One of these (your maps fit each of them):',
    'feedback.evidence': 'evidence',
    'feedback.hint': 'hint',
    'feedback.not_a_map': 'cannot draw it as a map (shape {shape})',
    'feedback.no_map': 'no map',
    'feedback.failed_tests': 'Failed tests: your map and the reference map',
    # -- The grader's reports and LMS comments (grader/report.py)
    'report.no_known_mistake': 'no known mistake fits',
    'report.mistakes_and': ' and ',
    'report.mistakes_or': ' or ',
    'report.comment': 'Autograded {score}/{maximum}{mistake}. The feedback file has the details.',
    'report.comment_mistake': ' (likely mistake: {mistakes})',
}
