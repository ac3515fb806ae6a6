"""TREC-6 training with the encoder's packing (one gather each way) against torch's
``pack_padded_sequence`` / ``pad_packed_sequence`` (a copy per time step, what the
encoder did before 2026-11-30), beside the plain PyTorch loop: whole fits of
``--epochs`` epochs with the classifier's defaults, interleaved, medians.

    python benchmarks/packing_ab.py                  # about 3 minutes on two cores
    python benchmarks/packing_ab.py --device cuda    # on a GPU, where it matters
"""

import statistics
import sys
import warnings
from pathlib import Path

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, load_trec, parse_args, record  # noqa: E402
from plain_torch import plain_sizes, train_plain  # noqa: E402

from sklearn_rnn import RNNClassifier  # noqa: E402
from sklearn_rnn.nn import RecurrentEncoder  # noqa: E402


def torch_packing_forward(
    self, inputs, lengths=None, state=None, *, final_state=True, adversary=None
):
    """``RecurrentEncoder.forward`` as it was, with torch's packing (and the final
    state whether asked for or not)."""
    features = self.embed(inputs, adversary)
    if state is None:
        state = self.start_state(features.shape[0])
    total_length = features.shape[1]
    if lengths is None or int(lengths[-1]) == total_length:
        return self.rnn(features, state)
    packed = pack_padded_sequence(features, lengths, batch_first=True)
    outputs, state = self.rnn(packed, state)
    outputs, _ = pad_packed_sequence(
        outputs, batch_first=True, total_length=total_length
    )
    return outputs, state


def main(args):
    X, y = load_trec("TREC.train.all")
    gathered = RecurrentEncoder.forward

    def ours(forward):
        RecurrentEncoder.forward = forward
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                RNNClassifier(
                    max_iter=args.epochs,
                    early_stopping=False,
                    adversarial_eps=0.0,  # the plain loop's work: one batch a step
                    random_state=0,
                    device=args.device,
                ).fit(X, y)
        finally:
            RecurrentEncoder.forward = gathered

    runs = {
        "gathered": lambda: ours(gathered),
        "torch": lambda: ours(torch_packing_forward),
        "plain": lambda: train_plain(
            X,
            y,
            epochs=args.epochs,
            device=args.device,
            **plain_sizes(RNNClassifier(), len(X)),
        ),
    }
    for run in runs.values():  # warm-up: first uses, lazy imports
        run()
    seconds = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            with Timer() as t:
                run()
                if args.device == "cuda":
                    torch.cuda.synchronize()
            seconds[name].append(t.seconds)
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    for name, times in seconds.items():
        print(f"{name}: median {medians[name]:.2f} s {[round(t, 2) for t in times]}")
    metric = (
        f"training seconds for {args.epochs} epochs, defaults, median of "
        f"{args.repeats} whole fits"
    )
    rows = [
        (
            "TREC-6",
            metric + ": packing by gathers",
            f"{medians['gathered']:.2f}",
            f"{medians['torch']:.2f} (torch's pack_padded_sequence)",
            f"{medians['torch'] / medians['gathered']:.2f}x",
        ),
        (
            "TREC-6",
            metric + ": packing by gathers",
            f"{medians['gathered']:.2f}",
            f"{medians['plain']:.2f} (plain torch loop)",
            f"{medians['plain'] / medians['gathered']:.2f}x",
        ),
    ]
    command = "python benchmarks/packing_ab.py"
    if args.epochs != 3 or args.repeats != 3:
        command += f" --epochs {args.epochs} --repeats {args.repeats}"
    record(args, command, rows)


if __name__ == "__main__":
    main(
        parse_args(
            __doc__.splitlines()[0],
            epochs=dict(type=int, default=3),
            repeats=dict(type=int, default=3),
        )
    )
