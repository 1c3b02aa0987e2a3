"""GAN (Goodfellow et al. 2014): losses against the formulas, alternating steps, the trainer's
contract, and the quality measures against naive versions."""

import copy
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from unsup_core.generative import (
    AdversarialTrainer,
    AdversarialTrainerConfig,
    Discriminator,
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
    QualityJudge,
    QualityJudgeConfig,
    SampleSnapshots,
    class_histogram,
    classifier_score,
    discriminator_loss,
    discriminator_step,
    frechet_distance,
    gaussian_samples,
    generator_loss,
    generator_step,
    mean_confidence,
    noisy_samples,
    random_pixels,
    recalibrate_batch_norm,
    update_average,
)
from unsup_core.serialization import from_checkpoint, to_checkpoint
from unsup_core.training import Callback, TrainingDiverged


def sig(v):
    """The logistic sigmoid of a float."""
    return 1 / (1 + math.exp(-v))


@pytest.fixture
def unit_blobs(blobs):
    """The ``blobs`` min-max scaled to [0, 1] (as prepared data are), and their labels."""
    X, labels = blobs
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    return X.astype(np.float32), labels


def pair(width=8, seed=0, batch_norm=False, dropout=0.0, **d):
    """A tiny G and D, deterministic in train mode unless batch_norm/dropout are asked for."""
    return (
        Generator(
            GeneratorConfig(width, noise_dim=4, hidden=(16,), batch_norm=batch_norm, seed=seed)
        ),
        Discriminator(DiscriminatorConfig(width, hidden=(16,), dropout=dropout, seed=seed, **d)),
    )


def adam(model):
    """Adam with lr 1e-2 over every parameter of ``model``."""
    return torch.optim.Adam(model.parameters(), lr=1e-2)


def weights(model):
    """Copies of every parameter of ``model``, in order."""
    return [p.detach().clone() for p in model.parameters()]


def same(a, b):
    """Whether two lists of tensors are equal entry by entry."""
    return all(torch.equal(x, y) for x, y in zip(a, b))


# --- losses ----------------------------------------------------------------------------------


def test_discriminator_and_generator_losses_match_the_formulas_on_a_hand_made_batch():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.3, -3.0])
    d_real, d_fake = [sig(v) for v in (2.0, -1.0, 0.5)], [sig(v) for v in (0.3, -3.0)]
    expected = -(np.mean(np.log(d_real)) + np.mean(np.log(1 - np.array(d_fake))))
    assert float(discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-6)
    s = 0.1
    smoothed = -np.mean([(1 - s) * math.log(p) + s * math.log(1 - p) for p in d_real]) - np.mean(
        np.log(1 - np.array(d_fake))
    )
    assert float(discriminator_loss(real, fake, s)) == pytest.approx(smoothed, rel=1e-6)
    assert float(generator_loss(fake, "minimax")) == pytest.approx(
        np.mean(np.log(1 - np.array(d_fake))), rel=1e-6
    )
    assert float(generator_loss(fake)) == pytest.approx(-np.mean(np.log(d_fake)), rel=1e-6)


def test_losses_stay_finite_for_extreme_logits_and_reject_bad_arguments():
    big = torch.tensor([80.0, -80.0])
    assert torch.isfinite(discriminator_loss(big, big)) and torch.isfinite(generator_loss(big))
    with pytest.raises(ValueError, match=r"generator_loss='wasserstein' is not one of"):
        generator_loss(big, "wasserstein")
    with pytest.raises(ValueError, match=r"label_smoothing=0.7 must lie in \[0, 0.5\)"):
        discriminator_loss(big, big, 0.7)


def test_discriminator_step_reports_the_loss_of_the_formula_on_its_batch():
    G, D = pair()
    x, z = torch.rand(5, 8, generator=torch.Generator().manual_seed(1)), torch.randn(4, 4)
    with torch.no_grad():
        d_real, d_fake = D(x).numpy(), D(G(z)).numpy()
    values = discriminator_step(G, D, adam(D), x, z)
    assert values["d_loss"] == pytest.approx(
        -(np.log(d_real).mean() + np.log(1 - d_fake).mean()), rel=1e-5
    )
    assert values["d_real_accuracy"] == pytest.approx(np.mean(d_real > 0.5))
    assert values["d_fake_accuracy"] == pytest.approx(np.mean(d_fake < 0.5))
    assert values["d_real"] == pytest.approx(d_real.mean(), rel=1e-5)


# --- alternating steps -----------------------------------------------------------------------


def test_a_generator_step_leaves_d_unchanged_and_a_discriminator_step_leaves_g_unchanged():
    G, D = pair()
    z, x = torch.randn(6, 4), torch.rand(6, 8)
    g0, d0 = weights(G), weights(D)
    generator_step(G, D, adam(G), z)
    assert same(weights(D), d0) and not same(weights(G), g0)
    assert all(p.requires_grad and p.grad is None for p in D.parameters())
    g1 = weights(G)
    discriminator_step(G, D, adam(D), x, z)
    assert same(weights(G), g1) and not same(weights(D), d0)


def test_update_average_is_an_exponential_moving_average():
    a, b = pair()[0], pair(seed=1)[0]
    before = weights(a)
    update_average(a, b, 0.9)
    for p_avg, p_old, p_new in zip(a.parameters(), before, b.parameters()):
        torch.testing.assert_close(p_avg, 0.9 * p_old + 0.1 * p_new)


# --- networks --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_networks_build_with_the_right_shapes_and_round_trip_through_checkpoints(kind):
    extra = {"kind": kind, "image_shape": (8, 8)}
    G = Generator(GeneratorConfig(64, noise_dim=8, hidden=(16, 8), batch_norm=True, **extra))
    D = Discriminator(
        DiscriminatorConfig(64, hidden=(8, 16), minibatch_std=True, dropout=0.1, **extra)
    )
    samples = G.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 64) and float(samples.min()) >= 0 and float(samples.max()) <= 1
    assert D.logits(samples).shape == (5,) and torch.all((D(samples) > 0) & (D(samples) < 1))
    for model in (G, D):
        model.eval()
        clone = from_checkpoint(to_checkpoint(model)).eval()

        def output(m):
            return m.net(torch.zeros(2, 8)) if isinstance(m, Generator) else m.logits(samples)

        torch.testing.assert_close(output(clone), output(model))


def test_a_conv_generator_with_one_upsampling_projects_to_half_size_maps():
    extra = {"kind": "conv", "image_shape": (8, 8), "upsamplings": 1}
    G = Generator(GeneratorConfig(64, noise_dim=8, hidden=(16, 4), **extra))
    layers = [type(m).__name__ for m in G.net]
    assert layers == [
        *("Linear", "BatchNorm1d", "LeakyReLU"),  # dense 16
        *("Linear", "BatchNorm1d", "LeakyReLU", "Unflatten"),  # 4 maps of 4x4
        *("ConvTranspose2d", "Flatten"),  # one 8x8 image
    ]
    assert G.net[3].out_features == 4 * 4 * 4
    assert G.sample(3, torch.Generator().manual_seed(0)).shape == (3, 64)
    odd = Generator(
        GeneratorConfig(36, hidden=(4,), upsamplings=1, kind="conv", image_shape=(6, 6))
    )
    assert odd.sample(2).shape == (2, 36)  # sides divisible by 2 suffice


@pytest.mark.parametrize("upsamplings", [1, 2])
def test_recalibration_stops_at_the_last_batch_norm_with_the_full_forward_statistics(upsamplings):
    extra = {"kind": "conv", "image_shape": (8, 8), "upsamplings": upsamplings}
    G = Generator(GeneratorConfig(64, noise_dim=8, hidden=(16, 8), **extra))
    naive = copy.deepcopy(G)
    norms = [m for m in naive.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    with torch.no_grad():
        naive(naive.noise(512, torch.Generator().manual_seed(4)))
    recalibrate_batch_norm(G, torch.Generator().manual_seed(4), n=512)
    for (name, ours), theirs in zip(G.named_buffers(), naive.buffers()):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0, msg=name)


def test_minibatch_std_lets_d_see_a_collapsed_batch():
    D = Discriminator(DiscriminatorConfig(4, hidden=(8,), minibatch_std=True))
    collapsed = torch.ones(6, 4) * 0.5
    varied = collapsed.clone()
    varied[0] = 0.0
    assert not torch.allclose(D.logits(collapsed)[1:], D.logits(varied)[1:])


# --- the trainer -----------------------------------------------------------------------------


class Recorder(Callback):
    """Keeps the model at the start, every epoch log and the final history."""

    def __init__(self):
        self.started, self.logs, self.ended = None, [], None

    def on_fit_start(self, model):
        self.started = model

    def on_epoch_end(self, log):
        self.logs.append(log)

    def on_fit_end(self, history):
        self.ended = history


def test_trainer_reports_both_losses_and_d_accuracies_each_epoch(unit_blobs):
    X, _ = unit_blobs
    G, D = pair()
    recorder = Recorder()
    history = AdversarialTrainer(
        AdversarialTrainerConfig(epochs=3, batch_size=64, d_steps=2), [recorder]
    ).fit(G, D, {"x": X})
    assert history.completed and len(history.epochs) == 3 and recorder.started is G
    assert set(history.epochs[0].train) == {
        "d_loss",
        "g_loss",
        "d_real_accuracy",
        "d_fake_accuracy",
        "d_real",
        "d_fake",
    }
    assert all(
        0 <= log.train["d_real_accuracy"] <= 1 and math.isfinite(log.train["g_loss"])
        for log in recorder.logs
    )
    assert history.series("train/d_loss") == [log.train["d_loss"] for log in recorder.logs]


def test_training_moves_the_samples_towards_the_data(unit_blobs):
    X, _ = unit_blobs
    G, D = pair()
    before = frechet_distance(X, G.sample(400, torch.Generator().manual_seed(0)).numpy())
    AdversarialTrainer(AdversarialTrainerConfig(epochs=40, batch_size=32, lr=2e-3)).fit(G, D, X)
    after = frechet_distance(X, G.sample(400, torch.Generator().manual_seed(0)).numpy())
    assert after < 0.5 * before


def test_two_seeded_fits_give_identical_weights_and_another_seed_differs(unit_blobs):
    X, _ = unit_blobs

    def fit(seed, **extra):
        G, D = pair(seed=seed, batch_norm=True, dropout=0.2)
        AdversarialTrainer(AdversarialTrainerConfig(epochs=2, seed=seed, **extra)).fit(G, D, X)
        return weights(G) + weights(D)

    assert same(fit(0), fit(0)) and not same(fit(0), fit(1))
    assert same(fit(0, ema_decay=0.9), fit(0, ema_decay=0.9))


def test_ema_keeps_the_average_in_the_callers_generator(unit_blobs):
    X, _ = unit_blobs
    G, D = pair()
    start = weights(G)
    AdversarialTrainer(AdversarialTrainerConfig(epochs=1, ema_decay=0.99)).fit(G, D, X)
    moved = [float((a - b).abs().max()) for a, b in zip(weights(G), start)]
    G2, D2 = pair()
    AdversarialTrainer(AdversarialTrainerConfig(epochs=1)).fit(G2, D2, X)
    moved_online = [float((a - b).abs().max()) for a, b in zip(weights(G2), start)]
    assert 0 < max(moved) < max(moved_online)


def test_nan_data_raises_training_diverged_naming_epoch_and_term(unit_blobs):
    X, _ = unit_blobs
    X = X.copy()
    X[:, 0] = np.nan
    recorder = Recorder()
    with pytest.raises(TrainingDiverged, match=r"at epoch 1 .*'d_loss'") as error:
        AdversarialTrainer(AdversarialTrainerConfig(epochs=2), [recorder]).fit(*pair(), X)
    assert error.value.term == "d_loss"
    assert recorder.ended is not None and not recorder.ended.completed


def test_trainer_rejects_mismatched_widths_and_too_many_d_steps(unit_blobs):
    X, _ = unit_blobs
    with pytest.raises(
        ValueError, match="out_features=8, discriminator in_features=8 and the data's 5"
    ):
        AdversarialTrainer().fit(*pair(), X[:, :5])
    with pytest.raises(ValueError, match="d_steps=20 exceeds the 7 batches"):
        AdversarialTrainer(AdversarialTrainerConfig(d_steps=20, batch_size=64)).fit(*pair(), X)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: GeneratorConfig(0), "out_features=0 must be >= 1"),
        (lambda: GeneratorConfig(64, noise_dim=0), "noise_dim=0 must be >= 1"),
        (
            lambda: GeneratorConfig(64, kind="transformer"),
            r"kind='transformer' is not one of \['mlp', 'conv'\]",
        ),
        (lambda: GeneratorConfig(64, kind="conv"), "kind='conv' needs image_shape"),
        (lambda: GeneratorConfig(36, kind="conv", image_shape=(6, 6)), "divisible by 4"),
        (lambda: GeneratorConfig(64, upsamplings=0), "upsamplings=0 must be >= 1"),
        (
            lambda: GeneratorConfig(64, kind="conv", hidden=(8,)),
            r"upsamplings=2 needs hidden=\(..., channels\) ending in 2 channel counts",
        ),
        (
            lambda: GeneratorConfig(
                16, kind="conv", hidden=(8, 8, 8), upsamplings=3, image_shape=(4, 4)
            ),
            "divisible by 8",
        ),
        (
            lambda: GeneratorConfig(64, image_shape=(4, 4)),
            r"image_shape=\(4, 4\) must be .* out_features=64",
        ),
        (lambda: GeneratorConfig(64, hidden=128), "must be a sequence of widths"),
        (lambda: GeneratorConfig(64, activation="swish"), "activation='swish' is not one of"),
        (lambda: DiscriminatorConfig(64, dropout=1.0), r"dropout=1.0 must lie in \[0, 1\)"),
        (
            lambda: DiscriminatorConfig(64, hidden=(8, 0)),
            r"hidden=\(8, 0\): every width must be >= 1",
        ),
        (
            lambda: AdversarialTrainerConfig(generator_loss="wgan"),
            "generator_loss='wgan' is not one of",
        ),
        (lambda: AdversarialTrainerConfig(d_steps=0), "d_steps=0 must be > 0"),
        (
            lambda: AdversarialTrainerConfig(recalibrate_every=0),
            "recalibrate_every=0 must be > 0",
        ),
        (lambda: AdversarialTrainerConfig(lr=0.0), "lr=0.0 must be > 0"),
        (
            lambda: AdversarialTrainerConfig(lr_discriminator=-1.0),
            "lr_discriminator=-1.0 must be > 0",
        ),
        (lambda: AdversarialTrainerConfig(beta1=1.0), r"beta1=1.0 must lie in \[0, 1\)"),
        (
            lambda: AdversarialTrainerConfig(label_smoothing=0.5),
            r"label_smoothing=0.5 must lie in \[0, 0.5\)",
        ),
        (
            lambda: AdversarialTrainerConfig(ema_decay=1.0),
            r"ema_decay=1.0 must lie in \(0, 1\) or be None",
        ),
        (lambda: AdversarialTrainerConfig(device="tpu"), "device='tpu'"),
        (lambda: QualityJudgeConfig(hidden=()), "must hold at least one width"),
    ],
)
def test_bad_configs_raise_clear_errors(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


# --- quality measures ------------------------------------------------------------------------


def naive_frechet(a, b):
    """The Frechet distance of Gaussians fitted to a and b, with scipy's matrix square root
    of S_a S_b (real part)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * np.real(root)))


def test_frechet_distance_is_zero_on_itself_grows_with_noise_and_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    distances = [
        frechet_distance(a, a + s * rng.normal(size=a.shape)) for s in (0.1, 0.5, 1.0, 2.0)
    ]
    assert distances == sorted(distances) and distances[0] > 0
    b = rng.normal(size=(200, 5)) * 2 + 1
    assert frechet_distance(a, b) == pytest.approx(naive_frechet(a, b), rel=1e-6)
    assert frechet_distance(a, a + 3.0) == pytest.approx(5 * 9.0, rel=1e-9)  # ||shift||^2
    with pytest.raises(ValueError, match="features_a has 5 columns, features_b 4"):
        frechet_distance(a, b[:, :4])


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # the naive sqrtm
def test_frechet_distance_is_real_for_singular_covariances():
    rng = np.random.default_rng(1)
    a, b = np.zeros((50, 4)), np.zeros((60, 4))
    a[:, :2], b[:, 1:3] = rng.normal(size=(50, 2)), rng.normal(size=(60, 2))  # dead units
    value = frechet_distance(a, b)
    assert math.isfinite(value) and value == pytest.approx(naive_frechet(a, b), abs=1e-6)


def test_classifier_score_histogram_and_confidence_on_hand_made_probabilities():
    confident = np.eye(4)[[0, 1, 2, 3] * 5]
    assert classifier_score(confident) == pytest.approx(4.0, rel=1e-6)
    collapsed = np.eye(4)[[2] * 20]
    assert classifier_score(collapsed) == pytest.approx(1.0)
    assert classifier_score(np.full((10, 4), 0.25)) == pytest.approx(1.0)
    p = np.array([[0.7, 0.3], [0.2, 0.8], [0.9, 0.1]])
    marginal = p.mean(0)
    kl = [sum(pi * math.log(pi / m) for pi, m in zip(row, marginal)) for row in p]
    assert classifier_score(p) == pytest.approx(math.exp(np.mean(kl)))
    np.testing.assert_allclose(class_histogram(p), [2 / 3, 1 / 3])
    assert mean_confidence(p) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="rows summing to 1"):
        classifier_score(np.ones((2, 2)))


def test_quality_judge_ranks_real_above_baselines_and_snapshots_record_checkpoints(prepared_digits):
    data = prepared_digits
    X, y = data.train.X[:600], data.train.y[:600]
    judge = QualityJudge.fit(X, y, 10, QualityJudgeConfig(hidden=(32,), epochs=15, lr=3e-3))
    rng = np.random.default_rng(0)
    real = judge.evaluate(data.test.X)
    noise = judge.evaluate(random_pixels(X, 300, rng))
    noisy = judge.evaluate(noisy_samples(X, 300, 0.5, rng))
    assert real.frechet_distance < noisy.frechet_distance < noise.frechet_distance
    assert real.classifier_score > noise.classifier_score and real.n_classes_present == 10
    assert sum(real.class_shares) == pytest.approx(1.0) and "q/class_share/9" in real.metrics("q/")
    gauss = gaussian_samples(X, 4000, rng)
    np.testing.assert_allclose(gauss.mean(0), X.mean(0), atol=0.05)
    G, D = pair(64)
    snapshots = SampleSnapshots(every=2, grid=6, judge=judge, n_judged=50)
    AdversarialTrainer(AdversarialTrainerConfig(epochs=3, batch_size=128), [snapshots]).fit(G, D, X)
    assert sorted(snapshots.samples_) == [2, 3] and sorted(snapshots.quality_) == [2, 3]
    assert snapshots.samples_[2].shape == (6, 64)


def test_plots_draw_sample_grids_history_and_class_shares(unit_blobs):
    from unsup_core.plotting.generative import (
        plot_adversarial_history,
        plot_class_shares,
        plot_sample_grid,
    )

    X, _ = unit_blobs
    history = AdversarialTrainer(AdversarialTrainerConfig(epochs=2)).fit(*pair(), X)
    assert plot_sample_grid(np.random.default_rng(0).random((12, 64)), (8, 8), 6, "x").axes
    assert len(plot_adversarial_history(history).axes) == 2
    assert plot_class_shares({"gan": [0.5, 0.5], "real": [0.4, 0.6]}, ["a", "b"]).axes


def test_linear_schedule_decays_both_rates_and_recalibration_fits_the_averaged_weights(unit_blobs):
    X, _ = unit_blobs
    G, D = pair(batch_norm=True)
    history = AdversarialTrainer(
        AdversarialTrainerConfig(
            epochs=4, lr_discriminator=1e-3, lr_schedule="linear", ema_decay=0.9
        )
    ).fit(G, D, X)
    assert [log.lr for log in history.epochs] == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4])
    norm = G.net[1]
    z = G.noise(8192, torch.Generator().manual_seed(3))
    with torch.no_grad():
        pre = G.net[0](z)
    torch.testing.assert_close(norm.running_mean, pre.mean(0), atol=0.15, rtol=0)
    recalibrate_batch_norm(G, torch.Generator().manual_seed(3))
    torch.testing.assert_close(norm.running_mean, pre.mean(0))
    torch.testing.assert_close(norm.running_var, pre.var(0))
    assert norm.momentum == 0.1 and G.training


def test_recalibrate_every_recalibrates_on_its_period_and_after_the_last_epoch(
    unit_blobs, monkeypatch
):
    from unsup_core.generative import trainer

    calls = []
    original = trainer.recalibrate_batch_norm
    monkeypatch.setattr(
        trainer, "recalibrate_batch_norm", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    X, _ = unit_blobs
    config = AdversarialTrainerConfig(epochs=5, ema_decay=0.9, recalibrate_every=2)
    AdversarialTrainer(config).fit(*pair(batch_norm=True), X)
    assert len(calls) == 3  # after epochs 2, 4 and 5


@pytest.mark.parametrize("loss", ["minimax", "non_saturating"])
def test_the_conv_pair_trains_on_8x8_images_with_either_generator_loss(prepared_digits, loss):
    X = prepared_digits.train.X[:256]
    extra = {"kind": "conv", "image_shape": (8, 8)}
    G = Generator(GeneratorConfig(64, noise_dim=8, hidden=(16, 8), **extra))
    D = Discriminator(DiscriminatorConfig(64, hidden=(8, 16), **extra))
    history = AdversarialTrainer(
        AdversarialTrainerConfig(epochs=2, batch_size=64, generator_loss=loss, d_steps=2)
    ).fit(G, D, X)
    assert history.completed and all(math.isfinite(v) for v in history.epochs[-1].train.values())
    if loss == "minimax":
        assert history.epochs[-1].train["g_loss"] < 0  # ln(1 - D(G(z))) < 0


def test_a_last_batch_of_one_object_trains_a_batch_norm_generator(unit_blobs):
    X, _ = unit_blobs
    G, D = pair(batch_norm=True)
    history = AdversarialTrainer(AdversarialTrainerConfig(epochs=1, batch_size=33)).fit(
        G, D, X[:67]
    )
    assert history.completed  # 67 = 2 * 33 + 1


def test_the_judge_trains_on_at_most_max_rows_of_a_seeded_sample(prepared_digits):
    data = prepared_digits
    config = QualityJudgeConfig(hidden=(8,), epochs=1, max_rows=100)
    judge = QualityJudge.fit(data.train.X, data.train.y, 10, config)
    assert judge.reference_features_.shape == (100, 8)
    again = QualityJudge.fit(data.train.X, data.train.y, 10, config)
    np.testing.assert_array_equal(judge.reference_features_, again.reference_features_)
    default = QualityJudgeConfig(hidden=(8,), epochs=1)  # max_rows 20,000
    whole = QualityJudge.fit(data.train.X, data.train.y, 10, default)
    assert whole.reference_features_.shape == (len(data.train), 8)  # digits: under the cap
