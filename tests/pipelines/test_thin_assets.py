"""Assets are thin: build the config, call one library recipe, log, return (the experiment
itself lives in the library, where it is tested without Dagster)."""

import ast
import inspect
import textwrap

from pipelines.definitions import ASSETS

# Library calls that train something: each recipe, and the trainers themselves.
TRAINING_CALLS = {
    "train_autoencoder",
    "train_zoo",
    "fit_map",
    "train_pretext",
    "train_stacked_autoencoder",
    "transfer_experiment",
    "train_teacher",
    "distil_student",
    "privileged_distillation",
    "train_gan",
    "Trainer",
    "AdversarialTrainer",
    "fit",
    "self_train",
    "fit_classifier",
    "fit_target",
}
MAX_BODY_LINES = 40


def called_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            names.append(
                function.id
                if isinstance(function, ast.Name)
                else function.attr
                if isinstance(function, ast.Attribute)
                else ""
            )
    return names


def test_every_asset_body_is_short_and_trains_through_at_most_one_library_call():
    for asset in ASSETS:
        function = asset.op.compute_fn.decorated_fn
        source = textwrap.dedent(inspect.getsource(function))
        definition = ast.parse(source).body[0]
        body = definition.body[1:] if ast.get_docstring(definition) else definition.body
        lines = body[-1].end_lineno - body[0].lineno + 1
        assert lines <= MAX_BODY_LINES, (asset.key.to_user_string(), lines)
        training = [name for name in called_names(definition) if name in TRAINING_CALLS]
        assert len(training) <= 1, (asset.key.to_user_string(), training)
