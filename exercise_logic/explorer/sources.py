"""Where the explained model comes from: the kit's menus (and a session's upload), or the notebook.

The page's events ask a source for the model of the current menu choice;
:class:`KitModels` answers from the :class:`~.model_store.ModelStore` or the
session's :class:`~.uploads.UploadedModel`, :class:`OwnModel` always gives
the model passed to :func:`exercise_logic.explore`.
"""
from __future__ import annotations

from ..messages import message
from ..models import MODEL_TYPES
from .errors import user_error
from .model_store import UPLOADED, ExplorerModel, ModelStore, dataset_name, model_name, parse_dataset_key
from .uploads import UploadedModels


class KitModels:
    """The kit's models by dataset and model type, plus each session's uploaded model.

    ``dataset`` and ``model_type`` are the menus' start values and the model
    of the public ``explain`` API.
    """

    menus = True

    def __init__(self, store: ModelStore, dataset: str | None = None, model_type: str = "simple"):
        self.store = store
        self.dataset = dataset or store.default_dataset()
        self.model_type = model_type
        self.uploads = UploadedModels()

    def resolve(self, dataset, model_type, uploaded, lang: str = "ja", progress=None) -> ExplorerModel:
        if model_type == UPLOADED:
            if uploaded is None or uploaded.model is None:
                raise user_error(message("explorer.err_no_upload", lang))
            return uploaded.on(self.store, dataset, lang)
        return self.store.get(dataset, model_type, progress=progress, lang=lang)

    def is_ready(self, dataset, model_type) -> bool:
        """Whether the model can be shown without training first."""
        return model_type == UPLOADED or self.store.is_loaded(dataset, model_type)

    def start_model(self) -> ExplorerModel | None:
        """The start-up model if it is loaded already (the page opens on it)."""
        if self.store.is_loaded(self.dataset, self.model_type):
            return self.store.get(self.dataset, self.model_type)
        return None

    def api_model(self, lang: str) -> ExplorerModel:
        return self.store.get(self.dataset, self.model_type, lang=lang)

    def dataset_choices(self, lang: str) -> list[tuple[str, str]]:
        return [(dataset_name(*parse_dataset_key(key), lang), key) for key in self.store.dataset_keys()]

    @staticmethod
    def model_choices(lang: str) -> list[tuple[str, str]]:
        return [(model_name(kind, lang), kind) for kind in MODEL_TYPES] + [(message("explorer.uploaded_model", lang), UPLOADED)]


class OwnModel:
    """One model and the student's own images (:func:`exercise_logic.explore`): no menus."""

    menus = False

    def __init__(self, loaded: ExplorerModel):
        self.loaded = loaded
        self.dataset, self.model_type = loaded.images.key, "own"

    def resolve(self, dataset, model_type, uploaded, lang: str = "ja", progress=None) -> ExplorerModel:
        return self.loaded

    def is_ready(self, dataset, model_type) -> bool:
        return True

    def start_model(self) -> ExplorerModel:
        return self.loaded

    def api_model(self, lang: str) -> ExplorerModel:
        return self.loaded
