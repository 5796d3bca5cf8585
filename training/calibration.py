"""Turning model scores into calibrated probabilities (logistic / Platt scaling, temperature) and choosing the
per-type thresholds the decision rule applies. The fine-tuned classifier fits both on dev (train_classifier.py);
the zero-shot one fits its logistic weights on train and its thresholds on dev (calibrate_zero_shot.py)."""
import numpy as np
import torch

L2 = 1e-2


def fit_logistic(x: np.ndarray, y: np.ndarray, positive_weight: float = 1.0) -> list:
    """Weighted, lightly L2-regularised logistic regression by LBFGS; returns [w..., bias]."""
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    mean, std = xt.mean(0), xt.std(0).clamp(min=1e-6)      # fit on standardised features, return raw-scale weights
    z = (xt - mean) / std
    w = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([w], lr=0.5, max_iter=200)
    sample_weight = torch.where(yt > 0, positive_weight, 1.0)

    def closure():
        optimiser.zero_grad()
        logits = z @ w[:-1] + w[-1]
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, yt, weight=sample_weight)
                + L2 * (w[:-1] ** 2).sum())
        loss.backward()
        return loss

    optimiser.step(closure)
    weights = (w[:-1] / std).detach()
    bias = (w[-1] - (w[:-1] * mean / std).sum()).detach()
    return [round(float(v), 5) for v in weights] + [round(float(bias), 5)]


def fit_temperature(logits: np.ndarray, labels: np.ndarray, kind: str) -> float:
    """Temperature scaling on dev: one scalar per head, by minimising the dev negative log-likelihood."""
    if len(logits) == 0:
        return 1.0
    z, y = torch.tensor(logits, dtype=torch.float64), torch.tensor(labels, dtype=torch.float64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure():
        optimiser.zero_grad()
        scaled = z / log_t.exp()
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(scaled, y) if kind == "sigmoid"
                else torch.nn.functional.cross_entropy(scaled, y.argmax(dim=1)))
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = log_t.exp().item()
    # a diverged fit (non-finite logits) would make every probability NaN: no scaling then
    return float(np.clip(temperature, 0.05, 20.0)) if np.isfinite(temperature) else 1.0


def tune_thresholds(probs: np.ndarray, labels: np.ndarray, names: tuple) -> dict:
    """Per-type threshold maximising dev F1; 0.5 where dev has no positive of that type."""
    thresholds = {}
    for i, name in enumerate(names):
        if labels[:, i].sum() == 0:
            thresholds[name] = 0.5
            continue
        best = max(np.arange(0.1, 0.91, 0.05),
                   key=lambda t: (f1(labels[:, i], probs[:, i] >= t), -abs(t - 0.5)))
        thresholds[name] = round(float(best), 2)
    return thresholds


def f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum((truth == 1) & predicted))
    fp = float(np.sum((truth == 0) & predicted))
    fn = float(np.sum((truth == 1) & ~predicted))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def tune_relative_threshold(probs: np.ndarray, labels: np.ndarray, config, names: tuple) -> float:
    """The share of the top type's probability a type must also reach (the decision rule's relative threshold),
    chosen for micro-F1 on the cooperation rows of dev with the per-type thresholds in config; ties favour the
    stricter rule, since over-labelling is the error users see most."""
    rows = labels.sum(axis=1) > 0
    probs, labels = probs[rows], labels[rows]
    limits = np.array([config.threshold(n) for n in names])

    def micro_f1(share):
        predicted = (probs >= limits) & (probs >= share * probs.max(axis=1, keepdims=True))
        return f1(labels.ravel(), predicted.ravel())

    return round(float(max(np.arange(0.0, 0.96, 0.05), key=lambda share: (micro_f1(share), share))), 2)
