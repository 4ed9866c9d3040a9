"""A small training run recorded with tracklite's MLflow-style API.

Softmax regression, written with numpy, on three generated Gaussian blobs;
the script is plain MLflow code with ``import tracklite as mlflow``.

Usage: python python/examples/train_numpy.py [--store PATH] [--steps N] [--lr X]
"""

from __future__ import annotations

import argparse

import numpy as np

import tracklite as mlflow


def make_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    centers = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    labels = rng.integers(0, 3, size=n)
    points = centers[labels] + rng.normal(scale=0.9, size=(n, 2))
    return points, labels


def loss_and_accuracy(w: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray):
    logits = x @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(y)), y]).mean()
    return float(loss), float((probs.argmax(axis=1) == y).mean()), probs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="store directory")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.store:
        mlflow.set_tracking_uri(args.store)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_data(rng, 600)
    x_val, y_val = make_data(rng, 200)
    w = np.zeros((2, 3))
    b = np.zeros(3)

    mlflow.set_experiment("demo-python")
    with mlflow.start_run(run_name=f"softmax-lr{args.lr}") as run:
        mlflow.log_params({"lr": args.lr, "steps": args.steps, "seed": args.seed})
        mlflow.set_tag("model", "softmax regression")
        for step in range(args.steps):
            loss, acc, probs = loss_and_accuracy(w, b, x_train, y_train)
            grad = probs.copy()
            grad[np.arange(len(y_train)), y_train] -= 1.0
            grad /= len(y_train)
            w -= args.lr * (x_train.T @ grad)
            b -= args.lr * grad.sum(axis=0)
            mlflow.log_metrics({"train_loss": loss, "train_accuracy": acc}, step=step)
            if step % 10 == 0 or step == args.steps - 1:
                val_loss, val_acc, _ = loss_and_accuracy(w, b, x_val, y_val)
                mlflow.log_metrics({"val_loss": val_loss, "val_accuracy": val_acc}, step=step)
        mlflow.log_dict({"w": w.tolist(), "b": b.tolist()}, "model/weights.json")
    first = mlflow.get_run(run.info.run_id)
    print(
        f"run {run.info.run_id} ({run.info.run_name}): {args.steps} steps, "
        f"validation accuracy {first.data.metrics['val_accuracy']:.3f}"
    )


if __name__ == "__main__":
    main()
