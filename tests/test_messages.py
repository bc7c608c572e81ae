"""The message catalogue: every language has every message, with the same placeholders, and no text lives elsewhere."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from exercise_logic import messages
from exercise_logic.messages import LANGUAGES, bilingual, catalogue, message, placeholders

ROOT = Path(__file__).resolve().parents[1]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# Modules that still hold Japanese/English text outside the catalogue, each with why. A module leaves this
# list when it is migrated; the test fails if a listed module no longer needs to be here.
NOT_YET_IN_THE_CATALOGUE = {
    # Dynamic messages still built as (Japanese, English) pairs or {"ja": f"...", "en": f"..."} dicts:
    # to be moved to the catalogue (their formatted numbers become placeholders).
    "exercise_logic/map_differences.py": "describe() returns (ja, en)",
    "exercise_logic/diagnosis/diagnose.py": "evidence pairs, stored as [ja, en] in results.json",
    "exercise_logic/data/datasets.py": "memory-error texts; class_names() picks the data's Japanese labels",
    "exercise_logic/data/lazy_arrays.py": "memory-error texts",
}


def test_every_language_has_a_module_and_every_module_is_a_language():
    modules = {path.stem for path in Path(messages.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules == set(LANGUAGES)
    assert messages.DEFAULT_LANGUAGE == LANGUAGES[0] == "ja"     # Japanese first


@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_every_language_has_every_message_with_the_same_placeholders(lang):
    default, other = catalogue(LANGUAGES[0]), catalogue(lang)
    assert sorted(set(default) - set(other)) == [] and sorted(set(other) - set(default)) == []
    differ = {key: (placeholders(default[key]), placeholders(other[key]))
              for key in default if placeholders(default[key]) != placeholders(other[key])}
    assert differ == {}
    assert [key for key, text in other.items() if not text.strip()] == []


def test_japanese_messages_are_japanese_and_english_ones_are_not():
    """Catches a text pasted into the wrong language's file (a few ids are the same in both, e.g. names)."""
    english = catalogue("en")
    same = {key for key, text in catalogue("ja").items() if text == english[key]}
    assert [key for key, text in english.items() if JAPANESE.search(text) and key != "explorer.language"] == []
    assert len(same) < 10, sorted(same)


def test_lookup_formats_fields_and_bilingual_joins_japanese_first():
    assert message("explorer.err_epochs", "en", value=0, max=20) == "Epochs must be a whole number from 1 to 20 (0)."
    assert bilingual("feedback.your_map") == "あなたのマップ / your map"
    assert message("explorer.title") == message("explorer.title", "ja")


def test_a_bad_id_language_or_missing_field_says_what_is_wrong():
    with pytest.raises(KeyError, match=r"no message 'explorer\.nope'.*messages/en\.py"):
        message("explorer.nope", "en")
    with pytest.raises(ValueError, match=r"unknown language 'ko'.*ja, en"):
        message("explorer.title", "ko")
    with pytest.raises(KeyError, match=r"explorer\.err_epochs.*needs the field 'max'"):
        message("explorer.err_epochs", "en", value=3)


def test_languages_asked_for_from_outside_fall_back_to_japanese():
    assert messages.supported_language("en") == "en" and messages.supported_language("de") == "ja"
    assert messages.supported_language(None) == "ja"
    assert messages.language_from_header("ja-JP,ja;q=0.9,en;q=0.8") == "ja"
    assert messages.language_from_header("de-DE,en-US;q=0.7") == "en"
    assert messages.language_from_header(None) == "ja"
    assert messages.language_choices() == [("日本語", "ja"), ("English", "en")]


# -- no text outside the catalogue ---------------------------------------------------------------
def _is_text(node) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _is_prose(node) -> bool:
    """A text for people (words or Japanese), not a name such as ``"gradcam_ja"``."""
    return _is_text(node) and bool(re.search(r"\s", _literal(node)) or JAPANESE.search(_literal(node)))


def _literal(node) -> str:
    return node.value if isinstance(node, ast.Constant) else "".join(
        part.value for part in node.values if isinstance(part, ast.Constant))


def inline_translations(source: str) -> list[str]:
    """What in a module's code chooses or pairs texts by language, each as 'line N: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Constant) and side.value in LANGUAGES for side in sides):
                found.append(f"line {node.lineno}: a branch on the language")
        elif isinstance(node, ast.Dict):
            keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
            if len(keys & set(LANGUAGES)) > 1 and any(_is_prose(value) for value in node.values):
                found.append(f"line {node.lineno}: a {{language: text}} dict")
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and all(_is_text(e) for e in node.elts):
            ja, en = (_literal(element) for element in node.elts)
            if JAPANESE.search(ja) and en.strip() and not JAPANESE.search(en):
                found.append(f"line {node.lineno}: a (Japanese, English) pair")
    return found


def modules_outside_the_catalogue() -> list[Path]:
    folders = ("exercise_logic", "grader", "demo", "assignments")
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py")
                  if "messages" not in path.relative_to(ROOT).parts)


def test_the_detector_finds_each_old_style():
    assert len(inline_translations('t = "はい" if lang == "ja" else "yes"')) == 1
    assert len(inline_translations('T = {"title": {"ja": "題", "en": f"title {n}"}}')) == 1
    assert len(inline_translations('STEPS = {"relu": ("手順 4", "step 4")}')) == 1
    assert inline_translations('names = {"ja": list(a), "en": list(b)}; x = ("a", "b")') == []
    assert inline_translations('ASSIGNMENTS = {"ja": "gradcam_ja", "en": "gradcam_en"}') == []


def test_no_module_outside_the_catalogue_chooses_or_pairs_texts_by_language():
    offenders = {}
    for path in modules_outside_the_catalogue():
        name = path.relative_to(ROOT).as_posix()
        found = inline_translations(path.read_text(encoding="utf-8"))
        if found and name not in NOT_YET_IN_THE_CATALOGUE:
            offenders[name] = found
        if not found and name in NOT_YET_IN_THE_CATALOGUE:
            offenders[name] = ["is in NOT_YET_IN_THE_CATALOGUE but needs no exception any more"]
    assert offenders == {}


def message_ids_named(source: str) -> list[tuple[int, str, bool]]:
    """``(line, id or id prefix, is_prefix)`` for every ``message(...)`` / ``bilingual(...)`` call's first argument."""
    named = []

    def collect(node, line):
        if isinstance(node, ast.IfExp):
            collect(node.body, line), collect(node.orelse, line)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.append((line, node.value, False))
        elif isinstance(node, ast.JoinedStr):     # an id made at run time: its literal start names its group
            first = node.values[0]
            named.append((line, first.value if isinstance(first, ast.Constant) else "", True))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("message", "bilingual") and node.args:
            collect(node.args[0], node.lineno)
    return named


def test_every_message_the_code_names_is_in_the_catalogue():
    ids = set(catalogue(LANGUAGES[0]))
    unknown = [f"{path.relative_to(ROOT)}:{line}: {name}"
               for path in modules_outside_the_catalogue()
               for line, name, prefix in message_ids_named(path.read_text(encoding="utf-8"))
               if not (("." in name and any(i.startswith(name) for i in ids)) if prefix else name in ids)]
    assert unknown == []
    assert message_ids_named('message("a.b" if x else "c", lang); bilingual(f"d.{k}"); message(f"{k}_x")') == [
        (1, "a.b", False), (1, "c", False), (1, "d.", True), (1, "", True)]
