"""Live progress: throttled ``progress`` lines in the Dagster event log from the trainer's
epochs and a recipe's loop of fits, and the terminal's bar of the running asset."""

import logging

import torch
from torch import nn

from pipelines.progress import EpochProgress, Throttled, parse_progress, progress_message
from pipelines.run_logging import StepProgressHandler
from unsup_core.training import Trainer, TrainerConfig


class Lines:
    """Stands in for ``context.log``: keeps what ``info`` was given."""

    def __init__(self):
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


class Mean(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(2))

    def loss(self, batch):
        return {"loss": ((batch["x"] - self.w) ** 2).mean()}


def test_a_progress_line_round_trips_through_a_dagster_prefix():
    message = progress_message("autoencoder_zoo/sparse", 3, 20, "epochs", "train loss 0.1")
    assert message == "progress autoencoder_zoo/sparse: 3/20 epochs · train loss 0.1"
    line = parse_progress(f"unsup_pipeline - 0843a059 - autoencoder_zoo - {message}")
    assert (line.what, line.done, line.total, line.unit) == (
        "autoencoder_zoo/sparse",
        3,
        20,
        "epochs",
    )
    assert parse_progress("STEP_START - Started execution of step") is None


def test_throttled_reports_the_first_and_last_step_and_at_most_one_per_interval():
    log = Lines()
    report = Throttled(log, "transfer_models", every=3600)
    for done in range(1, 46):
        report(done, 45, "fits")
    assert log.lines == [
        "progress transfer_models: 1/45 fits",
        "progress transfer_models: 45/45 fits",
    ]
    every_time = Lines()
    report = Throttled(every_time, "t", every=0)
    for done in range(1, 4):
        report(done, 3, "fits")
    assert len(every_time.lines) == 3


def test_the_trainer_reports_its_planned_epochs_with_the_loss():
    log = Lines()
    Trainer(TrainerConfig(epochs=4, batch_size=8), [EpochProgress(log, "plain", every=0)]).fit(
        Mean(), {"x": torch.ones(16, 2)}
    )
    assert [parse_progress(m).done for m in log.lines] == [1, 2, 3, 4]
    assert all(parse_progress(m).total == 4 for m in log.lines)
    assert "train loss" in log.lines[-1]


def test_the_terminal_shows_the_running_assets_progress_below_the_step_bar():
    handler = StepProgressHandler(total=3)
    try:
        for done in (1, 5, 9):
            record = logging.LogRecord("x", logging.INFO, "", 0, "", None, None)
            record.msg = f"unsup_pipeline - run - gan_model - progress gan_model: {done}/20 epochs"
            handler.emit(record)
        assert handler.inner is not None and handler.inner_what == "gan_model"
        assert (handler.inner.n, handler.inner.total) == (9, 20)
        handler._close_inner("gan_model")
        assert handler.inner is None
    finally:
        handler.finish()
