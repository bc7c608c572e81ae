"""Every message of the kit in Japanese: message id -> text (see :mod:`exercise_logic.messages`)."""

MESSAGES = {
    # -- The language's own name (the explorer's language switch)
    'language_name': '日本語',
    # -- The Grad-CAM explorer (exercise_logic.explorer)
    'explorer.title': '# Grad-CAM エクスプローラー：モデルはどこを見たか',
    'explorer.notice': '⚠️ **教育用です。診療・診断には使わないでください。** 予測もヒートマップも医学的な判断の根拠になりません。',
    'explorer.language': '言語 / Language',
    'explorer.dataset': 'データセット',
    'explorer.model': 'モデル',
    'explorer.samples': 'テスト画像（クリックで選択・正解ラベル付き）',
    'explorer.input': '入力画像（アップロードも可）',
    'explorer.target': '説明するクラス',
    'explorer.layer': '畳み込み層',
    'explorer.method': 'CAM の手法',
    'explorer.opacity': '重ねる濃さ',
    'explorer.colormap': 'カラーマップ',
    'explorer.prediction': '予測（クラス確率）',
    'explorer.original': '元画像（前処理後）',
    'explorer.heatmap': 'ヒートマップ',
    'explorer.overlay': '重ね合わせ',
    'explorer.grid': '比較グリッド（テスト画像 8 枚）',
    'explorer.predicted': '予測したクラス',
    'explorer.explain_api': '説明 (API)',
    'explorer.banner': '**使用中:** {dataset} ／ モデル {model} ／ テスト ROC-AUC **{auc}**・正解率 **{acc}**（{n} 枚）{source}',
    'explorer.from_cache': '・保存済みモデル',
    'explorer.trained_now': '・いま学習したモデル',
    'explorer.preparing': 'データとモデルを準備中…',
    'explorer.training': '学習中: エポック {epoch}/{epochs}（検証正解率 {val}）',
    'explorer.lesion_hit': '🎯 **ヒット:** ヒートマップの最大点は病変（紫の輪郭）の中にあります。',
    'explorer.lesion_miss': '❌ **ミス:** ヒートマップの最大点は病変（紫の輪郭）の外にあります。',
    'explorer.no_lesion': 'この画像には病変がありません（正常）。',
    'explorer.box_hit': '🎯 **ヒット:** ヒートマップの最大点は放射線科医のボックス（紫の枠）の中にあります。',
    'explorer.box_miss': '❌ **ミス:** ヒートマップの最大点は放射線科医のボックス（紫の枠）の外にあります。',
    'explorer.no_box': 'この画像には放射線科医のボックスがありません（NIH がボックスを付けたのは 880 枚だけです。所見がないという意味ではありません）。',
    'explorer.no_mask': '病変の正解位置は合成データのテスト画像にだけあります（ChestMNIST では、講師が NIH のボックスのファイルを置くと放射線科医のボックスが表示されます）。',
    'explorer.flat_map': 'ヒートマップが全面 0 です（この層・クラスでは正の寄与がありません）。',
    'explorer.blank_note': '⚠️ **このヒートマップは空です**（全面 0、または正の値がごくわずか）。層 `{layer}` には「{cls}」を支持する**正の根拠がありません**。{method} の最後の ReLU が、負の値しかないマップを 0 にしました。ツールの故障ではありません：このモデルは「{cls}」を、ほかのクラスの特徴が**ないこと**として判断しているのかもしれません。**反実仮想マップ**（負の勾配）は、増えると「{cls}」のスコアが下がる領域、つまり「{cls}」に反する根拠を示します。',
    'explorer.blank_other_method': '反実仮想マップがある手法: {choices}。',
    'explorer.counterfactual': '反実仮想マップ（負の勾配）',
    'explorer.counterfactual_button': '反実仮想マップを表示',
    'explorer.counterfactual_shown': '🔁 「{cls}」の**反実仮想マップ**を表示中：赤い領域が増えると「{cls}」のスコアが下がります。',
    'explorer.counterfactual_short': '反実仮想',
    'explorer.explains': '説明',
    'explorer.true_label': '正解',
    'explorer.pred_label': '予測',
    'explorer.hit': 'ヒット',
    'explorer.miss': 'ミス',
    'explorer.explanation': """### ヒートマップの読み方
- **赤は強い注目、青は弱い注目**です（jet カラーマップの場合）。
- Grad-CAM は**粗い**説明です。選んだ層の特徴マップは **{map_size}** しかなく、それを画像の大きさに引き伸ばしています（講義の CNN の最後の層は 11×11）。
- ヒートマップが示すのは**相関であって原因ではありません**。「ここを見て判断した」ことは示せても、「そこに病気がある」ことは示しません。
- **ショートカット特徴**を疑いましょう：画像の縁、マーカー、文字など、病変と関係ない場所が赤くなっていないか確かめてください。""",
    'explorer.tab_explorer': 'エクスプローラー',
    'explorer.tab_compare': '手法の比較',
    'explorer.tab_sanity': 'サニティチェック',
    'explorer.tab_lab': 'ショートカット学習',
    'explorer.compare_intro': """### 手法の比較
「エクスプローラー」で選んだ画像を、ライブラリのすべての手法で説明します（説明するクラス・層・濃さ・カラーマップもエクスプローラーの設定を使います）。""",
    'explorer.compare_button': 'すべての手法で説明する',
    'explorer.compare_gallery': '手法ごとの重ね合わせ',
    'explorer.deletion_short': '削除',
    'explorer.insertion_short': '挿入',
    'explorer.col_method': '手法',
    'explorer.col_deletion': '削除 AUC（低いほど良い）',
    'explorer.col_insertion': '挿入 AUC（高いほど良い）',
    'explorer.col_road_morf': 'ROAD 重要順に除去（低いほど良い）',
    'explorer.col_road_lerf': 'ROAD 重要でない順に除去（高いほど良い）',
    'explorer.col_pointing': 'ポインティングゲーム',
    'explorer.compare_note': '**削除**: 重要な画素から順にぼかした画像に置き換えると、説明したクラスの確率が早く下がるほど（AUC が低いほど）ヒートマップはモデルに忠実です。**挿入**: ぼかした画像に重要な画素から戻すと、確率が早く上がるほど（AUC が高いほど）忠実です。ポインティングゲーム: ヒートマップの最大点が病変から 2 画素以内（28×28 の場合。Zhang ら 2018 の 224 画素で 15 画素と同じ割合）ならヒット。**ROAD**（Rong ら 2022）: 画素の 10〜90% を取り除き、周りの画素から補間して埋めたときの確率の平均です。重要な画素から除く（MoRF）なら低いほど、重要でない画素から除く（LeRF）なら高いほど忠実です。補間で埋めるので、消した形そのものがモデルへの手がかりになりにくくなります。1 枚だけの値は目安です。',
    'explorer.compare_no_pointing': 'ポインティングゲームは病変のある合成データのテスト画像にだけあります。',
    'explorer.sanity_intro': """### サニティチェック（段階的ランダム化）
モデルのコピーの重みを出力側の層から 1 層ずつ初期化し直し、そのたびにヒートマップを描きます（元のモデルは変わりません）。モデルを説明している手法なら、重みを壊すとヒートマップも崩れるはずです。崩れない手法は、モデルではなく画像（輪郭・明るい部分）を見せています。""",
    'explorer.sanity_methods': '手法（複数選択可）',
    'explorer.sanity_button': 'ランダム化を実行',
    'explorer.sanity_gallery': 'ステップごとのヒートマップ（行: 手法、列: ステップ）',
    'explorer.step': 'ステップ',
    'explorer.trained_model': '学習済み',
    'explorer.sanity_note': '各セル: ステップ 0 のヒートマップとのスピアマン順位相関 ρ / SSIM（1 = 同じ、0 付近 = 無関係）。ステップ s は上から s 層を初期化済み。最後の列（全層ランダム）で 0 に近いほど、手法はモデルに依存しています。',
    'explorer.lab_intro': """### ショートカット学習ラボ
合成胸部X線（28×28）で 2 つのモデルを学習します。**ショートカットモデル**は左上の「L」マーカーがラベルと強く相関するデータで、**対照モデル**はマーカーがラベルと無関係なデータで学習します。テストではマーカーはラベルと無関係です。学習したモデルは保存され、2 回目からはすぐ表示されます。""",
    'explorer.lab_model': 'モデル',
    'explorer.lab_strength': 'マーカーとラベルの相関',
    'explorer.lab_epochs': 'エポック数',
    'explorer.lab_button': 'ラボを実行',
    'explorer.lab_figure': '結果の図（左: 正解率、右: 「異常」の Grad-CAM、点線の枠 = マーカー）',
    'explorer.lab_training': 'モデル {model}/{total} を学習中: エポック {epoch}/{epochs}（検証正解率 {val}）',
    'explorer.lab_shortcut': 'ショートカットモデル',
    'explorer.lab_control': '対照モデル',
    'explorer.lab_val': '検証正解率',
    'explorer.lab_test': 'テスト正解率',
    'explorer.lab_drop': '正解率の低下（ポイント）',
    'explorer.lab_marker_peak': '「異常」マップの最大点がマーカー上',
    'explorer.lab_pointing': '病変へのポインティングゲーム',
    'explorer.upload_model': '自分のモデル（.keras）をアップロード',
    'explorer.upload_button': '.keras ファイルを選ぶ',
    'explorer.upload_intro': "ノートブックで `model.save('my_model.keras')` したファイルを読み込み、上の「モデル」で「アップロードしたモデル」を選んで説明します。**このブラウザのタブだけ**が使えます（ほかの人には見えません）。タブを閉じると削除されます。安全のため、コードを含むモデル（Lambda 層など）は読み込みません。",
    'explorer.upload_ok': '✅ `{name}` を読み込みました：入力 {shape}、畳み込み層 {convs} 個、出力 {outputs}。',
    'explorer.uploaded_model': 'アップロードしたモデル',
    'explorer.own_images': 'あなたの画像',
    'explorer.own_model': 'あなたのモデル',
    'explorer.banner_unlabelled': '**使用中:** {dataset} ／ モデル {model}（{n} 枚、正解ラベルなし）',
    'explorer.server_started': '[demo] Grad-CAM エクスプローラー: {url}  （Ctrl-C で終了）',
    'explorer.explore_off': '[explore] ${switch}=off のため、エクスプローラーは開きません（採点中など）。',
    'explorer.server_stopped': '[demo] 終了しました。',
    'explorer.not_trained_yet': '[demo] {model}: モデルは未学習です。ページを開くと学習の進み具合が表示されます。',
    'explorer.err_no_image': '画像がありません。テスト画像を選ぶか、画像をアップロードしてください。',
    'explorer.err_target': '説明するクラス {value!r} はこのモデルにありません。選べるのは: {choices}',
    'explorer.err_layer': '層 {value!r} はこのモデルにありません。選べるのは: {choices}',
    'explorer.err_method': 'CAM の手法 {value!r} はありません。選べるのは: {choices}',
    'explorer.err_opacity': '重ねる濃さは 0 から 1 の数にしてください（{value!r}）。',
    'explorer.err_colormap': 'カラーマップ {value!r} はありません。選べるのは: {choices}',
    'explorer.err_dataset': 'データセット {value!r} はこのコンピューターにありません。',
    'explorer.err_transfer_offline': '転移学習モデルには ImageNet の重み（MobileNetV2）が必要ですが、このコンピューターにありません。このアプリは外部に通信しないので自動ではダウンロードしません。講義ノートブックで一度学習するか、simple / deeper を選んでください。',
    'explorer.err_methods': '手法を 1 つ以上選んでください（不明な手法: {value}）。選べるのは: {choices}',
    'explorer.err_lab_model': 'ラボのモデル {value!r} はありません。選べるのは: {choices}',
    'explorer.err_strength': 'マーカーとラベルの相関は 0 より大きく 1 以下の数にしてください（{value!r}）。',
    'explorer.err_epochs': 'エポック数は 1 から {max} の整数にしてください（{value!r}）。',
    'explorer.err_model': 'モデルを用意できませんでした: {error}',
    'explorer.err_counterfactual': '{method} には反実仮想マップがありません。使える手法: {choices}',
    'explorer.err_no_upload': 'アップロードしたモデルがまだありません。下の欄から .keras ファイルを読み込んでください。',
    'explorer.err_upload_type': "{name}: .keras ファイルではありません。ノートブックで model.save('my_model.keras') として保存してください。",
    'explorer.err_upload_size': '{name}: ファイルが大きすぎます（{size:.1f} MB、上限 {limit:.0f} MB）。',
    'explorer.err_upload_unsafe': '{name}: コードを含むモデル（Lambda 層や独自のクラス）は安全のため読み込めません。Keras の標準の層だけで作り直して保存してください。（{error}）',
    'explorer.err_upload_broken': '{name}: ファイルが壊れているか、Keras のモデルではありません（{error}）。もう一度保存してください。',
    'explorer.err_upload_input': '{name}: 画像 1 枚（高さ, 幅, 1 または 3 チャネル）を受け取るモデルが必要です。このモデルの入力は {shape} です。',
    'explorer.err_upload_no_conv': '{name}: 2D 畳み込み層（Conv2D など）がありません。Grad-CAM は畳み込み層の特徴マップを説明します。',
    'explorer.err_upload_output': '{name}: 出力 {shape} は使えません。出力は 1 つで、1 ユニット（sigmoid：正常/異常）か、クラスごとに 1 ユニット（このデータでは {classes} 個）にしてください。',
    'explorer.err_upload_image_size': '{name}: このモデルは {size}×{size} の画像を受け取りますが、その大きさのデータがありません（あるのは {sizes} 画素）。',
    'explorer.err_upload_run': '{name}: テスト画像で実行できませんでした（{error}）。',
    'explorer.err_internal': '処理中に問題が起きました（{error}）。別の画像か設定で試してください。',
    # -- The explorer's names of models and datasets
    'explorer.model_name.simple': '講義の CNN (simple)',
    'explorer.model_name.deeper': '深い CNN (deeper)',
    'explorer.model_name.transfer': '転移学習 MobileNetV2 (transfer)',
    'explorer.dataset_name.synthetic': '合成胸部X線',
    'explorer.dataset_name.chestmnist': 'ChestMNIST（正常/異常）',
    'explorer.no_finding': '所見なし',
    'explorer.class_number': 'クラス {number}',
    'explorer.error_title': 'エラー',
    'explorer.log_in': '教員から伝えられたユーザー名とパスワードでログインしてください',
    'explorer.page_title': 'Grad-CAM エクスプローラー',
    'explorer.needs_gradio': "explore() には Gradio が必要です。キットを extra `[demo]` 付きで入れ直すか（例: `pip install 'exercise-logic[cpu,demo] @ git+<キットの URL>'`）、`pip install gradio` で入れてください。",
    # -- The recipe's steps (exercise_logic.diagnosis)
    'recipe_step.gradients': '手順 1「勾配」',
    'recipe_step.weights': '手順 2「チャネル重み」',
    'recipe_step.sum': '手順 3「重み付き和」',
    'recipe_step.relu': '手順 4「ReLU」',
    'recipe_step.normalise': '手順 5「正規化」',
    'recipe_step.upsample': '手順 6「拡大」',
    # -- The known Grad-CAM mistakes: name and hint (exercise_logic.diagnosis)
    'mistake.no_relu.name': 'ReLU がない',
    'mistake.no_relu.hint': '重み付き和のあとで負の値を 0 にしていません（マップに負の値が残っています）。',
    'mistake.abs.name': 'ReLU の代わりに絶対値 |·|',
    'mistake.abs.hint': '負の値を正に反転させています。負の値はそのクラスに反する根拠なので、反転させずに 0 にします。',
    'mistake.no_normalisation.name': '正規化していない',
    'mistake.no_normalisation.hint': 'マップの最大値で割って、最大が 1 になるようにしていません。',
    'mistake.sum_normalisation.name': '合計で正規化している',
    'mistake.sum_normalisation.hint': '合計ではなく最大値で割ります（合計で割ると最大が 1 になりません）。',
    'mistake.nan_on_zero.name': '0 で割って NaN になる',
    'mistake.nan_on_zero.hint': '全て 0 のマップを最大値 0 で割っています。最大値が 0 のときは割らずに、0 のまま返します。',
    'mistake.nearest.name': '最近傍補間で拡大している',
    'mistake.nearest.hint': '拡大がブロック状です。双線形補間（bilinear）で入力画像の大きさに拡大します。',
    'mistake.height_width_swapped.name': '高さと幅の取り違え',
    'mistake.height_width_swapped.hint': '拡大後の大きさが (幅, 高さ) になっています。大きさは (高さ, 幅) の順に指定します。',
    'mistake.class_index_ignored.name': 'class_index を無視している',
    'mistake.class_index_ignored.hint': 'いつも同じクラス（予測クラス／二値なら異常）を説明しています。class_index で指定されたクラスのスコアを微分します（二値モデルの「正常」(0) はスコアの符号を反転）。',
    'mistake.layer_ignored.name': 'last_conv_layer_name を無視している',
    'mistake.layer_ignored.hint': '指定された層ではなく、いつも last_conv_layer を使っています。',
    'mistake.wrong_tensor.name': '勾配をとるテンソルが違う',
    'mistake.wrong_tensor.hint': '入力画像についての勾配を使っています。指定した畳み込み層の出力（活性化 A）についての勾配を使います。',
    'mistake.wrong_pooling_axis.name': '平均する軸が違う',
    'mistake.wrong_pooling_axis.hint': 'チャネル重みは、各チャネルの勾配を高さと幅の両方向に平均した 1 つの数です。',
    'mistake.max_pooled_gradients.name': '勾配の最大値を重みにしている',
    'mistake.max_pooled_gradients.hint': 'チャネル重みは勾配の最大値ではなく、平均です。',
    'mistake.gradients_not_pooled.name': '勾配を平均していない',
    'mistake.gradients_not_pooled.hint': '勾配をそのまま活性化に掛けています。先に各チャネルの勾配を平均して 1 つの重みにします。',
    'mistake.weights_on_gradients.name': '勾配に重みを掛けている',
    'mistake.weights_on_gradients.hint': '重みを掛けて足し合わせるのは勾配ではなく、活性化 A（畳み込み層の出力）です。',
    'mistake.all_zero.name': 'マップが全て 0',
    'mistake.all_zero.hint': 'どの場合もマップが全て 0 です。勾配・重み・重み付き和を順に表示して、どこで 0 になるか確かめましょう。',
    # -- The self-check of a student's compute_gradcam (exercise_logic.self_check)
    'self_check.title': '自己チェック（採点には使われません。点数は隠しテストで決まります）',
    'self_check.all_well': '✓ すべてのケースで参照と一致しました。提出して大丈夫です（隠しテストは別のモデル・層・クラスで確かめます）。',
    'self_check.failed': '✗ {failed} / {total} ケースで参照と違います。',
    'self_check.mistake': '考えられる間違い: {name}',
    'self_check.two_at_once': '考えられる間違い（{count} つ同時）:',
    'self_check.one_of': '考えられる間違い（次のどれか）:',
    'self_check.evidence': '  根拠: {evidence}',
    'self_check.hint': '  ヒント（{step}）: {hint}',
    'self_check.no_match': '既知の間違いのどれにも当てはまりません。手順（勾配 → チャネル重み → 重み付き和 → ReLU → 正規化 → 拡大）を1 つずつ、途中の値を表示して確かめましょう。',
    'self_check.raised': 'エラー: {error}',
    'self_check.seconds': '（{seconds:.1f} 秒）',
    'self_check.off': '自己チェックは採点中には実行しません（${switch}=off）。',
    'self_check.yours': 'あなたのマップ',
    'self_check.reference': '参照マップ',
    'self_check.legend': '黄〜赤 = 正の値（注目）、青 = 負の値、灰色 = NaN、マゼンタの線 = 病変',
    # -- The self-check's cases
    'self_check.case.lecture_predicted': '講義の CNN（sigmoid 1 つ）、class_index=None',
    'self_check.case.lecture_normal': '講義の CNN、class_index=0（正常）',
    'self_check.case.lecture_first_layer': '講義の CNN、最初の畳み込み層',
    'self_check.case.multi_predicted': '4 クラスの CNN（softmax）、class_index=None',
    'self_check.case.multi_class_2': '4 クラスの CNN、class_index=2',
    'self_check.case.non_square': '正方形でない入力（高さ 24、幅 32）',
    'self_check.case.yours_predicted': 'あなたのモデル、class_index=None',
    'self_check.case.yours_normal': 'あなたのモデル、class_index=0',
    # -- The Grad-CAM assignment's notebooks (assignments/gradcam/build_source.py)
    'gradcam_notebook.title': """# 第3回 演習：Grad-CAM を自分で実装する

## 学習目標
- Grad-CAM の計算（勾配 → チャネル重み → 重み付き和 → ReLU → 正規化 → 拡大）を自分の手で実装する
- AI が画像の「どこを見て」判断しているかを可視化し、その医学的な妥当性と限界を考える

**操作方法**: `Shift + Enter` でセルを上から順に実行してください。セッションが切れたら上から再実行すれば復旧できます。

**採点について**: `compute_gradcam` は自動採点（10 点）、最後の考察 3 問は講師が採点します（各 2 点）。
テストのセル（🔒）は編集しないでください。自動採点では、あなたの `compute_gradcam` のセルだけを取り出し、
隠しテスト（別のモデル・別の層・別のクラス・正方形でない画像）で参照実装と比べます。
`compute_gradcam` のセルには、動くために必要な import と関数定義をすべて書いてください。""",
    'gradcam_notebook.kit': """## Step 0: 環境構築
JupyterHub や自分の PC で講師がキット（`exercise_logic`、この講義の補助ライブラリ）を入れてある場合は、そのまま次の 2 つのセルを実行します。
Google Colab などキットが無い場所では、次のセルの `KIT_SOURCE` に講師から指示されたインストール元（pip で入れられる git の URL や
wheel ファイル）を書いてから実行してください。セットアップのセルは、何をどこで見つけたかを 1 行で表示します。""",
    'gradcam_notebook.data': """## Step 1: データの準備
ChestMNIST（胸部X線画像）が手元にあればそれを、なければオフラインで使える合成データ（synthetic）を使います。
どちらも **二値分類**（正常 0 / 異常 1）です。""",
    'gradcam_notebook.train': """## Step 2: 講義の CNN を学習（または読み込み）
講義と同じ CNN（Conv32 → MaxPool → Conv64 `last_conv_layer` → MaxPool → Flatten → Dense64 → Dropout → Dense(1, sigmoid)）です。
一度学習したモデルはキャッシュされ、2 回目からはすぐに読み込まれます。""",
    'gradcam_notebook.contract': r"""## Step 3: Grad-CAM を実装する

`compute_gradcam(model, img_array, last_conv_layer_name='last_conv_layer', class_index=None)` を完成させてください。

**入力**: `img_array` は形状 `(1, H, W, C)` の float 画像（バッチ 1 枚）。
**出力**: 形状 `(H, W)`（入力画像と同じ高さ・幅）の float 配列。値は `[0, 1]`。

**手順**（$A^k$ は層 `last_conv_layer_name` の出力の第 $k$ チャネル、大きさ $h \times w$）:
1. **スコア $y$**: 出力層の活性化関数（sigmoid / softmax）を通す **前** の値（ロジット）$z$ を使います。
   - 講義の二値モデル（出力 1 つ、sigmoid）: `class_index` が `1` または `None` なら「異常」を説明し $y = z$、`0` なら「正常」を説明し $y = -z$。
     （sigmoid の確率 $p$ や $1-p$ を微分しても、正規化後は同じマップになります。）
   - 多クラスモデル（softmax）: $y = z_c$。`class_index=None` なら予測クラス $c = \arg\max z$。
2. **勾配**: $G^k = \partial y / \partial A^k$（`tf.GradientTape`）。
3. **チャネル重み**: $\alpha_k = \frac{1}{h w}\sum_{i,j} G^k_{ij}$（**空間方向の平均**）。
4. **重み付き和と ReLU**: $L = \mathrm{ReLU}\left(\sum_k \alpha_k A^k\right)$（形状 $h \times w$）。
5. **正規化**: $L$ をその最大値で割る。全て 0 のマップは 0 のまま（0 で割らない）。
6. **拡大**: `tf.image.resize(..., (H, W), method="bilinear")` で入力の大きさ `(H, W)` に拡大する（高さが先）。

**ヒント**: 講義のモデルは sigmoid/softmax が最後の Dense 層に組み込まれています。conv 層の出力とロジットは次のように取り出せます。
```python
head = model.layers[-1]                      # 出力の Dense 層
features = img_array
for layer in model.layers[:-1]:              # 層を 1 つずつ実行する（GradientTape の中で）
    features = layer(features, training=False)
    if layer.name == last_conv_layer_name:
        conv_out = features                  # A: 指定した conv 層の出力
logits = features @ head.kernel + head.bias  # sigmoid/softmax の前の値
```
`exercise_logic.compute_gradcam` は参照実装です。**採点ではあなたの関数から呼び出すことはできません。**""",
    'gradcam_notebook.self_check': """### 提出前の自己チェック
次のセルは、あなたの `compute_gradcam` を合成の胸部X線（病変つき）のいくつかのケース（講義の CNN、4 クラスの CNN、正方形でない画像、
最初の畳み込み層、あなたのモデル）で参照実装と比べます。違うときは、考えられる間違いと手順のヒントを示し、あなたのマップと参照マップを
X線の上に並べて描きます。1 秒ほどなので、編集するたびに実行できます。**採点には使われません**（点数は隠しテストで決まります）。""",
    'gradcam_notebook.tests': """### 🔒 テスト（編集しないでください）
次のセルを実行すると、すぐに分かる間違いを確認できます。採点は隠しテストで行います。""",
    'gradcam_notebook.use': """## Step 4: いくつかの画像に使ってみる
あなたの `compute_gradcam` で、テスト画像 8 枚のヒートマップを重ねて表示します（赤 = 強く注目、青 = あまり注目していない）。
下のセルでは参照実装（`exercise_logic.show_gradcam_comparison`）の結果と見比べられます。""",
    'gradcam_notebook.discuss': """## Step 5: 考察課題
各問に自分の言葉で答えてください（講師が採点します）。""",
    'gradcam_notebook.q1_where': '**問 1.** AI は画像のどの領域に注目していますか？ Step 4 のヒートマップから、具体的に述べてください。',
    'gradcam_notebook.q2_plausible': '**問 2.** その注目領域は医学的に妥当だと考えますか？ 妥当性をどう確かめるかも含めて述べてください。',
    'gradcam_notebook.q3_clinic': '**問 3.** Grad-CAM のような説明可能な AI（XAI）は臨床現場でどのように役立ちますか？ また、その限界は何ですか？',
    'gradcam_notebook.answer.q1_where': """（回答例）胸部X線では、肺野・心陰影・横隔膜などの領域が注目されることが多い一方、背景や画像周辺に反応する場合もある。
病変がある場合は病変周囲が強調されるのが望ましいが、撮影条件・マーカー・周辺情報などに依存した「ショートカット特徴」を学習している可能性もある。""",
    'gradcam_notebook.answer.q2_plausible': """（回答例）解剖学的に意味のある領域（肺・心臓など）に注目しているかを確認する。画像の端・背景・文字情報が強く出る場合は不適切な特徴学習を疑う。
医師の注目領域との比較や、施設・機器を跨いだ外部検証で一貫性を確かめる。""",
    'gradcam_notebook.answer.q3_clinic': """（回答例）デバッグ・品質管理（不適切な領域への依存の発見）や教育（所見と領域の対応の議論）に役立つ。
ただし可視化は粗く、因果的な根拠を保証しないため、性能評価や外部検証とセットで解釈する。説明可能性は万能ではなく、
意図された使用とリスクに応じて透明性・評価・監視を総合的に整える必要がある。""",
    # -- The shortcut-learning lab's notebooks (assignments/shortcut_lab/build_notebooks.py)
    'shortcut_lab_notebook.title': """# ショートカット学習ラボ：AI は本当に病変を見ているか？

講義の Grad-CAM 演習では、3 つの問いを考えました。

1. AI は画像のどこに注目しているか？
2. その注目領域は医学的に妥当か？
3. Grad-CAM のような説明可能 AI の限界は何か？（粗い・因果的ではない・マーカーや文字などの「ショートカット特徴」にだまされる）

このラボでは 3 つ目の問いを**実験で確かめます**。合成胸部 X 線画像の左上の角には、撮影時の「L」マーカーのような小さな印を描けます。
学習データでこの印が「異常」ラベルとほぼ一致していたら、AI は病変ではなく印を覚えてしまうでしょうか？

**操作方法**: `Shift + Enter` でセルを上から順に実行してください。採点はありません。問いの下のセルに自分の考えを書きましょう。""",
    'shortcut_lab_notebook.step1': """## Step 1: データを見る

学習データ（マーカーがラベルと相関）とテストデータ（マーカーはラベルと無関係）で、マーカーの出方を比べます。
白い破線の枠がマーカーの入る角、緑の線が病変（正解マスク）です。""",
    'shortcut_lab_notebook.q_predict': """### 問 1（予想）
学習データでは「マーカーあり ≒ 異常」です。このデータで学習した AI は、テストデータ（マーカーはラベルと無関係）でどのくらいの精度になると思いますか？
Grad-CAM の赤い領域はどこに出ると思いますか？ 実行する前に予想を書きましょう。""",
    'shortcut_lab_notebook.answer': '（ここに回答を書いてください）',
    'shortcut_lab_notebook.step2': """## Step 2: 2 つのモデルを学習して比べる

- **ショートカットモデル**: マーカーがラベルと相関したデータ（強さ `STRENGTH`）で学習
- **対照モデル**: マーカーはあるがラベルと無関係なデータで学習

学習済みモデルはキャッシュされるので、2 回目からはすぐに終わります。""",
    'shortcut_lab_notebook.q_accuracy': """### 問 2（精度）
ショートカットモデルの検証精度とテスト精度はどれだけ違いましたか？ 対照モデルではどうでしたか？
「マーカーがラベルと矛盾する画像」での精度は何を意味しますか？ 検証データだけで評価していたら、何を見逃していたでしょうか？""",
    'shortcut_lab_notebook.step3': """## Step 3: 他の説明手法でもマーカーが見えるか

Grad-CAM 以外の手法でも、ショートカットモデルの「異常」の説明がマーカーの角に集まるかを数えます。
`marker peaks` はマーカーのあるテスト画像のうち、マップの最大点がマーカーの角にある割合、
`pointing game` は異常画像のうち、最大点が病変（±2 画素以内）に当たった割合です。""",
    'shortcut_lab_notebook.q_methods': """### 問 3（手法の違い）
対照モデルはマーカーを判断に使っていないはずです（テスト精度が下がりませんでした）。それでも、手法によっては対照モデルのマップがマーカーの角で最大になりました。
なぜだと思いますか？ ショートカットを見つけるとき、1 つの説明手法だけを信じてよいでしょうか？""",
    'shortcut_lab_notebook.step4': """## Step 4: その説明はモデルに忠実か（削除・挿入曲線）

マップが重要だと言う画素から順に、画像をぼかした画像で置き換えます（削除）。忠実なマップなら「異常」の確率はすぐに下がります（AUC が小さいほど良い）。
逆に、ぼかした画像に重要な画素から元の画素を戻していくと（挿入）、確率はすぐに上がるはずです（AUC が大きいほど良い）。""",
    'shortcut_lab_notebook.q_discuss': """### 問 4（考察）
1. ショートカットモデルの Grad-CAM は、講義の問い「AI はどこに注目しているか」にどう答えましたか？ その領域は医学的に妥当ですか？
2. 実際の病院のデータで、このラボの「マーカー」にあたるものには何がありそうですか？（例：撮影装置、施設、ポータブル撮影の文字、体位の表示…）
3. Grad-CAM で「病変に注目している」ように見えても、それだけではモデルを信頼できないのはなぜですか？ どんな評価を組み合わせるべきでしょうか？""",
    'shortcut_lab_notebook.summary': """## まとめ

- 学習データに偶然の手がかり（ショートカット）があると、AI は病変ではなくそれを覚えることがある
- 検証データにも同じ手がかりがあれば、精度が高く見えて問題に気づけない。**手がかりが独立したデータ**（外部検証）で評価する
- Grad-CAM はショートカットを**見つける助け**になる。ただし粗く、因果を保証しないので、精度評価や忠実性の指標と組み合わせて解釈する""",
    # -- The grader's feedback pages (grader/feedback.py)
    'feedback.title': '自動採点（compute_gradcam）の結果',
    'feedback.official_score': 'この点数が正式な自動採点の点数です。下のノートブックの各セルの点数は参考です。',
    'feedback.xray_title': '胸部X線（合成、マゼンタの線 = 病変）',
    'feedback.noise_title': '見えるテストの画像',
    'feedback.test_image': 'テストの画像',
    'feedback.your_map': 'あなたのマップ',
    'feedback.reference_map': '参照マップ',
    'feedback.difference': '差（あなた − 参照）',
    'feedback.legend': 'X線の上の色: 黄〜赤 = 正の値（注目）、青 = 負の値、灰色 = NaN。',
    'feedback.hidden_only': 'この画像では参照と一致します。違いは隠しテスト（別のモデル・クラス・層）で出ています。',
    'feedback.no_match': '既知の間違いのどれにも当てはまりませんでした。手順（勾配 → チャネル重み → 重み付き和 → ReLU → 正規化 → 拡大）を 1 つずつ、途中の値を表示して確かめましょう。',
    'feedback.first_conv_layer': '最初の畳み込み層',
    'feedback.likely_mistake': '考えられる間違い',
    'feedback.no_maps': '関数がどのテストでもマップを返しませんでした（上のメッセージを見てください）。',
    'feedback.mistakes_at_once': '{count} つの間違いが同時にあります。',
    'feedback.one_of': '次のどれかです（あなたのマップはどれにも合います）。',
    'feedback.evidence': '根拠',
    'feedback.hint': 'ヒント',
    'feedback.not_a_map': 'マップとして描けません（形 {shape}）',
    'feedback.no_map': 'マップがありません',
    'feedback.failed_tests': '不合格のテスト：あなたのマップと参照マップ',
    # -- The grader's reports and LMS comments (grader/report.py)
    'report.no_known_mistake': '既知の間違いに当てはまらない',
    'report.mistakes_and': ' と ',
    'report.mistakes_or': ' または ',
    'report.comment': '自動採点 {score}/{maximum}{mistake}。詳しくはフィードバックファイルを見てください。',
    'report.comment_mistake': '（考えられる間違い: {mistakes}）',
}
