"""Every piece of text students see, in Japanese (first) and English."""
from __future__ import annotations

LANGUAGES = (("日本語", "ja"), ("English", "en"))
DEFAULT_LANG = "ja"

TEXT = {
    "title": {
        "ja": "# Grad-CAM エクスプローラー：モデルはどこを見たか",
        "en": "# Grad-CAM explorer: where did the model look?",
    },
    "notice": {
        "ja": "⚠️ **教育用です。診療・診断には使わないでください。** 予測もヒートマップも医学的な判断の根拠になりません。",
        "en": "⚠️ **For education only, not for clinical use.** Neither the prediction nor the heatmap is a basis for any medical decision.",
    },
    "language": {"ja": "言語 / Language", "en": "Language / 言語"},
    "dataset": {"ja": "データセット", "en": "Dataset"},
    "model": {"ja": "モデル", "en": "Model"},
    "samples": {"ja": "テスト画像（クリックで選択・正解ラベル付き）",
                "en": "Test images (click to select; true labels shown)"},
    "input": {"ja": "入力画像（アップロードも可）", "en": "Input image (or upload your own)"},
    "target": {"ja": "説明するクラス", "en": "Class to explain"},
    "layer": {"ja": "畳み込み層", "en": "Conv layer"},
    "method": {"ja": "CAM の手法", "en": "CAM method"},
    "opacity": {"ja": "重ねる濃さ", "en": "Overlay opacity"},
    "colormap": {"ja": "カラーマップ", "en": "Colormap"},
    "prediction": {"ja": "予測（クラス確率）", "en": "Prediction (class probabilities)"},
    "original": {"ja": "元画像（前処理後）", "en": "Original (preprocessed)"},
    "heatmap": {"ja": "ヒートマップ", "en": "Heatmap"},
    "overlay": {"ja": "重ね合わせ", "en": "Overlay"},
    "grid": {"ja": "比較グリッド（テスト画像 8 枚）", "en": "Comparison grid (8 test images)"},
    "predicted": {"ja": "予測したクラス", "en": "predicted class"},
    "explain_api": {"ja": "説明 (API)", "en": "Explain (API)"},
    "banner": {
        "ja": "**使用中:** {dataset} ／ モデル {model} ／ テスト ROC-AUC **{auc}**・正解率 **{acc}**（{n} 枚）{source}",
        "en": "**In use:** {dataset} / model {model} / test ROC-AUC **{auc}**, accuracy **{acc}** ({n} images){source}",
    },
    "from_cache": {"ja": "・保存済みモデル", "en": " · cached model"},
    "trained_now": {"ja": "・いま学習したモデル", "en": " · trained just now"},
    "preparing": {"ja": "データとモデルを準備中…", "en": "Preparing the data and the model…"},
    "training": {"ja": "学習中: エポック {epoch}/{epochs}（検証正解率 {val}）",
                 "en": "Training: epoch {epoch}/{epochs} (validation accuracy {val})"},
    "lesion_hit": {"ja": "🎯 **ヒット:** ヒートマップの最大点は病変（紫の輪郭）の中にあります。",
                   "en": "🎯 **Hit:** the heatmap's peak lies on the lesion (magenta outline)."},
    "lesion_miss": {"ja": "❌ **ミス:** ヒートマップの最大点は病変（紫の輪郭）の外にあります。",
                    "en": "❌ **Miss:** the heatmap's peak lies off the lesion (magenta outline)."},
    "no_lesion": {"ja": "この画像には病変がありません（正常）。", "en": "This image has no lesion (normal)."},
    "box_hit": {"ja": "🎯 **ヒット:** ヒートマップの最大点は放射線科医のボックス（紫の枠）の中にあります。",
                "en": "🎯 **Hit:** the heatmap's peak lies in the radiologist's box (magenta frame)."},
    "box_miss": {"ja": "❌ **ミス:** ヒートマップの最大点は放射線科医のボックス（紫の枠）の外にあります。",
                 "en": "❌ **Miss:** the heatmap's peak lies outside the radiologist's box (magenta frame)."},
    "no_box": {"ja": "この画像には放射線科医のボックスがありません（NIH がボックスを付けたのは 880 枚だけです。"
                     "所見がないという意味ではありません）。",
               "en": "This image has no radiologist's box (NIH boxed 880 images only; "
                     "it does not mean the image is normal)."},
    "no_mask": {"ja": "病変の正解位置は合成データのテスト画像にだけあります（ChestMNIST では、講師が NIH の"
                      "ボックスのファイルを置くと放射線科医のボックスが表示されます）。",
                "en": "Lesion outlines exist for the synthetic test images only (ChestMNIST shows the "
                      "radiologists' boxes once the instructor adds NIH's box files)."},
    "flat_map": {"ja": "ヒートマップが全面 0 です（この層・クラスでは正の寄与がありません）。",
                 "en": "The heatmap is all zero (no positive contribution for this layer and class)."},
    "blank_note": {
        "ja": "⚠️ **このヒートマップは空です**（全面 0、または正の値がごくわずか）。層 `{layer}` には"
              "「{cls}」を支持する**正の根拠がありません**。{method} の最後の ReLU が、負の値しかない"
              "マップを 0 にしました。ツールの故障ではありません：このモデルは「{cls}」を、ほかのクラスの"
              "特徴が**ないこと**として判断しているのかもしれません。**反実仮想マップ**（負の勾配）は、"
              "増えると「{cls}」のスコアが下がる領域、つまり「{cls}」に反する根拠を示します。",
        "en": "⚠️ **This heatmap is blank** (all zero, or its positive part is negligible). Layer `{layer}` "
              "holds **no positive evidence for “{cls}”**: the final ReLU of {method} removed a map that was "
              "only negative. The tool is not broken: this model may recognise “{cls}” as the *absence* of "
              "the other classes' features. The **counterfactual map** (negative gradients) shows the "
              "regions whose increase would lower the score of “{cls}”: the evidence against it."},
    "blank_other_method": {
        "ja": "反実仮想マップがある手法: {choices}。", "en": "Methods with a counterfactual map: {choices}."},
    "counterfactual": {"ja": "反実仮想マップ（負の勾配）", "en": "Counterfactual map (negative gradients)"},
    "counterfactual_button": {"ja": "反実仮想マップを表示", "en": "Show the counterfactual map"},
    "counterfactual_shown": {
        "ja": "🔁 「{cls}」の**反実仮想マップ**を表示中：赤い領域が増えると「{cls}」のスコアが下がります。",
        "en": "🔁 Showing the **counterfactual map** of “{cls}”: where it is red, more of the image would "
              "lower the score of “{cls}”."},
    "counterfactual_short": {"ja": "反実仮想", "en": "counterfactual"},
    "explains": {"ja": "説明", "en": "explains"},
    "true_label": {"ja": "正解", "en": "true"},
    "pred_label": {"ja": "予測", "en": "pred"},
    "hit": {"ja": "ヒット", "en": "hit"},
    "miss": {"ja": "ミス", "en": "miss"},
    "explanation": {
        "ja": (
            "### ヒートマップの読み方\n"
            "- **赤は強い注目、青は弱い注目**です（jet カラーマップの場合）。\n"
            "- Grad-CAM は**粗い**説明です。選んだ層の特徴マップは **{map_size}** しかなく、"
            "それを画像の大きさに引き伸ばしています（講義の CNN の最後の層は 11×11）。\n"
            "- ヒートマップが示すのは**相関であって原因ではありません**。"
            "「ここを見て判断した」ことは示せても、「そこに病気がある」ことは示しません。\n"
            "- **ショートカット特徴**を疑いましょう：画像の縁、マーカー、文字など、"
            "病変と関係ない場所が赤くなっていないか確かめてください。"),
        "en": (
            "### Reading the heatmap\n"
            "- **Red means strong attention, blue weak** (with the jet colormap).\n"
            "- Grad-CAM is **coarse**: the chosen layer's feature map is only **{map_size}**, "
            "stretched to the image size (the lecture CNN's last conv map is 11×11).\n"
            "- It shows **correlation, not cause**: where the model looked for its answer, "
            "not that a disease is there.\n"
            "- Look for **shortcut features**: image edges, markers, text — anything "
            "unrelated to the lesion that lights up red."),
    },
    # Tabs
    "tab_explorer": {"ja": "エクスプローラー", "en": "Explorer"},
    "tab_compare": {"ja": "手法の比較", "en": "Compare methods"},
    "tab_sanity": {"ja": "サニティチェック", "en": "Sanity check"},
    "tab_lab": {"ja": "ショートカット学習", "en": "Shortcut lab"},
    # Compare methods
    "compare_intro": {
        "ja": "### 手法の比較\n「エクスプローラー」で選んだ画像を、ライブラリのすべての手法で説明します"
              "（説明するクラス・層・濃さ・カラーマップもエクスプローラーの設定を使います）。",
        "en": "### Compare methods\nThe image selected in the Explorer tab under every method of the library "
              "(with the Explorer's class, layer, opacity and colormap)."},
    "compare_button": {"ja": "すべての手法で説明する", "en": "Explain with every method"},
    "compare_gallery": {"ja": "手法ごとの重ね合わせ", "en": "Overlay per method"},
    "deletion_short": {"ja": "削除", "en": "del"},
    "insertion_short": {"ja": "挿入", "en": "ins"},
    "col_method": {"ja": "手法", "en": "Method"},
    "col_deletion": {"ja": "削除 AUC（低いほど良い）", "en": "Deletion AUC (lower is better)"},
    "col_insertion": {"ja": "挿入 AUC（高いほど良い）", "en": "Insertion AUC (higher is better)"},
    "col_road_morf": {"ja": "ROAD 重要順に除去（低いほど良い）", "en": "ROAD MoRF (lower is better)"},
    "col_road_lerf": {"ja": "ROAD 重要でない順に除去（高いほど良い）", "en": "ROAD LeRF (higher is better)"},
    "col_pointing": {"ja": "ポインティングゲーム", "en": "Pointing game"},
    "compare_note": {
        "ja": "**削除**: 重要な画素から順にぼかした画像に置き換えると、説明したクラスの確率が早く下がるほど"
              "（AUC が低いほど）ヒートマップはモデルに忠実です。**挿入**: ぼかした画像に重要な画素から戻すと、"
              "確率が早く上がるほど（AUC が高いほど）忠実です。ポインティングゲーム: ヒートマップの最大点が"
              "病変から 2 画素以内（28×28 の場合。Zhang ら 2018 の 224 画素で 15 画素と同じ割合）ならヒット。"
              "**ROAD**（Rong ら 2022）: 画素の 10〜90% を取り除き、周りの画素から補間して埋めたときの確率の平均です。"
              "重要な画素から除く（MoRF）なら低いほど、重要でない画素から除く（LeRF）なら高いほど忠実です。"
              "補間で埋めるので、消した形そのものがモデルへの手がかりになりにくくなります。1 枚だけの値は目安です。",
        "en": "**Deletion**: replacing the most important pixels first by a blurred copy, the faster the explained "
              "class's probability falls (the lower the AUC), the more faithful the map is to the model. "
              "**Insertion**: revealing them first on the blurred copy, the faster it rises (the higher the AUC), "
              "the more faithful. Pointing game: a hit when the map's peak lies within 2 pixels of the lesion (at 28×28; Zhang et al. 2018's 15 px at 224 px, scaled). "
              "**ROAD** (Rong et al. 2022): the mean probability with 10-90% of the pixels removed and filled in "
              "from their neighbours; removing the most relevant first (MoRF), lower is more faithful; the least "
              "relevant first (LeRF), higher. Filling in from the neighbours keeps the removed shape itself from "
              "telling the model anything. One image's numbers are only a hint."},
    "compare_no_pointing": {
        "ja": "ポインティングゲームは病変のある合成データのテスト画像にだけあります。",
        "en": "The pointing game needs a synthetic test image with a lesion."},
    # Sanity check
    "sanity_intro": {
        "ja": "### サニティチェック（段階的ランダム化）\nモデルのコピーの重みを出力側の層から 1 層ずつ初期化し直し、"
              "そのたびにヒートマップを描きます（元のモデルは変わりません）。モデルを説明している手法なら、"
              "重みを壊すとヒートマップも崩れるはずです。崩れない手法は、モデルではなく画像（輪郭・明るい部分）を"
              "見せています。",
        "en": "### Sanity check (cascading randomisation)\nA copy of the model has its weights re-initialised layer "
              "by layer, from the output down, and the maps are drawn after each step (the model itself is "
              "untouched). A method that explains the model must fall apart as the weights are destroyed; one "
              "whose maps stay the same shows the image (edges, bright areas), not the model."},
    "sanity_methods": {"ja": "手法（複数選択可）", "en": "Methods (several allowed)"},
    "sanity_button": {"ja": "ランダム化を実行", "en": "Run the randomisation"},
    "sanity_gallery": {"ja": "ステップごとのヒートマップ（行: 手法、列: ステップ）",
                       "en": "Maps per step (rows: methods, columns: steps)"},
    "step": {"ja": "ステップ", "en": "step"},
    "trained_model": {"ja": "学習済み", "en": "trained"},
    "sanity_note": {
        "ja": "各セル: ステップ 0 のヒートマップとのスピアマン順位相関 ρ / SSIM（1 = 同じ、0 付近 = 無関係）。"
              "ステップ s は上から s 層を初期化済み。最後の列（全層ランダム）で 0 に近いほど、手法はモデルに依存しています。",
        "en": "Each cell: Spearman rank correlation ρ / SSIM with the step-0 map (1 = the same, near 0 = unrelated). "
              "Step s has the top s layers re-initialised. The nearer 0 in the last column (every layer random), "
              "the more the method depends on the model."},
    # Shortcut lab
    "lab_intro": {
        "ja": "### ショートカット学習ラボ\n合成胸部X線（28×28）で 2 つのモデルを学習します。**ショートカットモデル**は"
              "左上の「L」マーカーがラベルと強く相関するデータで、**対照モデル**はマーカーがラベルと無関係なデータで"
              "学習します。テストではマーカーはラベルと無関係です。学習したモデルは保存され、2 回目からはすぐ表示されます。",
        "en": "### Shortcut-learning lab\nTwo models are trained on the synthetic chest X-rays (28×28): the "
              "**shortcut model** on data where the small \"L\" marker in the top-left corner follows the label, "
              "the **control** on data where it does not. On the test set the marker is independent of the label. "
              "Trained models are cached: the second run shows at once."},
    "lab_model": {"ja": "モデル", "en": "Model"},
    "lab_strength": {"ja": "マーカーとラベルの相関", "en": "Marker-label correlation"},
    "lab_epochs": {"ja": "エポック数", "en": "Epochs"},
    "lab_button": {"ja": "ラボを実行", "en": "Run the lab"},
    "lab_figure": {"ja": "結果の図（左: 正解率、右: 「異常」の Grad-CAM、点線の枠 = マーカー）",
                   "en": "Figure (left: accuracies; right: abnormal-class Grad-CAM, dashed box = marker)"},
    "lab_training": {"ja": "モデル {model}/{total} を学習中: エポック {epoch}/{epochs}（検証正解率 {val}）",
                     "en": "Training model {model}/{total}: epoch {epoch}/{epochs} (validation accuracy {val})"},
    "lab_shortcut": {"ja": "ショートカットモデル", "en": "Shortcut model"},
    "lab_control": {"ja": "対照モデル", "en": "Control"},
    "lab_val": {"ja": "検証正解率", "en": "Validation accuracy"},
    "lab_test": {"ja": "テスト正解率", "en": "Test accuracy"},
    "lab_drop": {"ja": "正解率の低下（ポイント）", "en": "Accuracy drop (points)"},
    "lab_marker_peak": {"ja": "「異常」マップの最大点がマーカー上", "en": "Abnormal maps peaking on the marker"},
    "lab_pointing": {"ja": "病変へのポインティングゲーム", "en": "Lesion pointing game"},
    # Your own model: uploaded in the page, or passed to exercise_logic.explore()
    "upload_model": {"ja": "自分のモデル（.keras）をアップロード", "en": "Upload your own model (.keras)"},
    "upload_button": {"ja": ".keras ファイルを選ぶ", "en": "Choose a .keras file"},
    "upload_intro": {
        "ja": "ノートブックで `model.save('my_model.keras')` したファイルを読み込み、上の「モデル」で"
              "「アップロードしたモデル」を選んで説明します。**このブラウザのタブだけ**が使えます"
              "（ほかの人には見えません）。タブを閉じると削除されます。安全のため、コードを含むモデル"
              "（Lambda 層など）は読み込みません。",
        "en": "Load the file you saved in the notebook with `model.save('my_model.keras')`; it is then "
              "explained as “your uploaded model” (the Model menu above). Only **this browser tab** can "
              "use it (nobody else sees it) and it is deleted when the tab closes. For safety, models that "
              "contain code (Lambda layers and the like) are refused."},
    "upload_ok": {
        "ja": "✅ `{name}` を読み込みました：入力 {shape}、畳み込み層 {convs} 個、出力 {outputs}。",
        "en": "✅ `{name}` is loaded: input {shape}, {convs} conv layers, output {outputs}."},
    "uploaded_model": {"ja": "アップロードしたモデル", "en": "your uploaded model"},
    "own_images": {"ja": "あなたの画像", "en": "your images"},
    "own_model": {"ja": "あなたのモデル", "en": "your model"},
    "banner_unlabelled": {
        "ja": "**使用中:** {dataset} ／ モデル {model}（{n} 枚、正解ラベルなし）",
        "en": "**In use:** {dataset} / model {model} ({n} images, no labels)"},
    "server_started": {
        "ja": "[demo] Grad-CAM エクスプローラー: {url}  （Ctrl-C で終了）",
        "en": "[demo] Grad-CAM explorer: {url}  (Ctrl-C to stop)"},
    "explore_off": {
        "ja": "[explore] ${switch}=off のため、エクスプローラーは開きません（採点中など）。",
        "en": "[explore] ${switch}=off: the explorer is not opened here (e.g. while grading)."},
    "server_stopped": {"ja": "[demo] 終了しました。", "en": "[demo] stopped."},
    "not_trained_yet": {
        "ja": "[demo] {model}: モデルは未学習です。ページを開くと学習の進み具合が表示されます。",
        "en": "[demo] {model}: not trained yet; open the page to train it with a progress bar."},
    # Errors (shown as a message in the page, never a stack trace)
    "err_no_image": {"ja": "画像がありません。テスト画像を選ぶか、画像をアップロードしてください。",
                     "en": "No image: pick a test image or upload one."},
    "err_target": {"ja": "説明するクラス {value!r} はこのモデルにありません。選べるのは: {choices}",
                   "en": "Class {value!r} does not exist for this model; choose one of: {choices}"},
    "err_layer": {"ja": "層 {value!r} はこのモデルにありません。選べるのは: {choices}",
                  "en": "Layer {value!r} does not exist in this model; choose one of: {choices}"},
    "err_method": {"ja": "CAM の手法 {value!r} はありません。選べるのは: {choices}",
                   "en": "Unknown CAM method {value!r}; choose one of: {choices}"},
    "err_opacity": {"ja": "重ねる濃さは 0 から 1 の数にしてください（{value!r}）。",
                    "en": "Opacity must be a number from 0 to 1 ({value!r})."},
    "err_colormap": {"ja": "カラーマップ {value!r} はありません。選べるのは: {choices}",
                     "en": "Unknown colormap {value!r}; choose one of: {choices}"},
    "err_dataset": {"ja": "データセット {value!r} はこのコンピューターにありません。",
                    "en": "Dataset {value!r} is not available on this computer."},
    "err_transfer_offline": {
        "ja": "転移学習モデルには ImageNet の重み（MobileNetV2）が必要ですが、このコンピューターにありません。"
              "このアプリは外部に通信しないので自動ではダウンロードしません。講義ノートブックで一度学習するか、"
              "simple / deeper を選んでください。",
        "en": "The transfer model needs the ImageNet weights of MobileNetV2, which are not on this computer. "
              "This app never downloads anything; train it once in the lecture notebook, or choose "
              "simple / deeper."},
    "err_methods": {"ja": "手法を 1 つ以上選んでください（不明な手法: {value}）。選べるのは: {choices}",
                    "en": "Choose at least one known method (unknown: {value}); the methods are: {choices}"},
    "err_lab_model": {"ja": "ラボのモデル {value!r} はありません。選べるのは: {choices}",
                      "en": "Unknown lab model {value!r}; choose one of: {choices}"},
    "err_strength": {"ja": "マーカーとラベルの相関は 0 より大きく 1 以下の数にしてください（{value!r}）。",
                     "en": "The marker-label correlation must be a number above 0 and at most 1 ({value!r})."},
    "err_epochs": {"ja": "エポック数は 1 から {max} の整数にしてください（{value!r}）。",
                   "en": "Epochs must be a whole number from 1 to {max} ({value!r})."},
    "err_model": {"ja": "モデルを用意できませんでした: {error}", "en": "Could not prepare the model: {error}"},
    "err_counterfactual": {"ja": "{method} には反実仮想マップがありません。使える手法: {choices}",
                           "en": "{method} has no counterfactual map; choose one of: {choices}"},
    "err_no_upload": {"ja": "アップロードしたモデルがまだありません。下の欄から .keras ファイルを読み込んでください。",
                      "en": "No uploaded model yet: upload your .keras file below first."},
    "err_upload_type": {
        "ja": "{name}: .keras ファイルではありません。ノートブックで model.save('my_model.keras') として保存してください。",
        "en": "{name}: not a .keras file. Save your model in the notebook with model.save('my_model.keras')."},
    "err_upload_size": {"ja": "{name}: ファイルが大きすぎます（{size:.1f} MB、上限 {limit:.0f} MB）。",
                        "en": "{name}: the file is too large ({size:.1f} MB; the limit is {limit:.0f} MB)."},
    "err_upload_unsafe": {
        "ja": "{name}: コードを含むモデル（Lambda 層や独自のクラス）は安全のため読み込めません。"
              "Keras の標準の層だけで作り直して保存してください。（{error}）",
        "en": "{name}: models that contain code (a Lambda layer or a custom class) are refused for safety. "
              "Rebuild it from Keras' built-in layers and save it again. ({error})"},
    "err_upload_broken": {
        "ja": "{name}: ファイルが壊れているか、Keras のモデルではありません（{error}）。もう一度保存してください。",
        "en": "{name}: the file is damaged or not a Keras model ({error}). Save it again."},
    "err_upload_input": {
        "ja": "{name}: 画像 1 枚（高さ, 幅, 1 または 3 チャネル）を受け取るモデルが必要です。このモデルの入力は {shape} です。",
        "en": "{name}: the model must take one image input (height, width, 1 or 3 channels); its input is {shape}."},
    "err_upload_no_conv": {
        "ja": "{name}: 2D 畳み込み層（Conv2D など）がありません。Grad-CAM は畳み込み層の特徴マップを説明します。",
        "en": "{name}: the model has no 2D convolution layer (Conv2D or similar); Grad-CAM explains a conv layer's maps."},
    "err_upload_output": {
        "ja": "{name}: 出力 {shape} は使えません。出力は 1 つで、1 ユニット（sigmoid：正常/異常）か、"
              "クラスごとに 1 ユニット（このデータでは {classes} 個）にしてください。",
        "en": "{name}: its output {shape} is not one the explorer understands: one output with 1 unit "
              "(sigmoid: normal/abnormal) or one unit per class ({classes} for this data)."},
    "err_upload_image_size": {
        "ja": "{name}: このモデルは {size}×{size} の画像を受け取りますが、その大きさのデータがありません（あるのは {sizes} 画素）。",
        "en": "{name}: the model takes {size}×{size} images, but there is no data at that size (available: {sizes} px)."},
    "err_upload_run": {"ja": "{name}: テスト画像で実行できませんでした（{error}）。",
                       "en": "{name}: the model failed on a test image ({error})."},
    "err_internal": {"ja": "処理中に問題が起きました（{error}）。別の画像か設定で試してください。",
                     "en": "Something went wrong ({error}). Try another image or setting."},
}

MODEL_NAMES = {
    "simple": {"ja": "講義の CNN (simple)", "en": "lecture CNN (simple)"},
    "deeper": {"ja": "深い CNN (deeper)", "en": "deeper CNN (deeper)"},
    "transfer": {"ja": "転移学習 MobileNetV2 (transfer)", "en": "transfer learning, MobileNetV2 (transfer)"},
}

DATASET_NAMES = {
    "synthetic": {"ja": "合成胸部X線", "en": "synthetic chest X-rays"},
    "chestmnist": {"ja": "ChestMNIST（正常/異常）", "en": "ChestMNIST (normal/abnormal)"},
}


def normalise_lang(lang) -> str:
    return lang if lang in ("ja", "en") else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **values) -> str:
    """The text for ``key`` in ``lang`` ('ja' or 'en'), formatted with ``values``."""
    text = TEXT[key][normalise_lang(lang)]
    return text.format(**values) if values else text


def lang_from_header(accept_language: str | None, fallback: str = DEFAULT_LANG) -> str:
    """The first of ja/en in an Accept-Language header, else ``fallback``."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("ja", "en"):
            return code
    return fallback


def model_name(model_type: str, lang: str) -> str:
    return MODEL_NAMES.get(model_type, {}).get(normalise_lang(lang), model_type)


def dataset_name(name: str, size: int, lang: str) -> str:
    base = DATASET_NAMES.get(name, {}).get(normalise_lang(lang), name)
    return f"{base} {size}×{size}"
