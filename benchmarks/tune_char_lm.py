"""How the CharLMGenerator defaults were chosen: candidate settings that cost the same
per epoch, compared by held-out cross-entropy epoch by epoch.

Every candidate trains on the first 90 % of tiny shakespeare (the conventional training
part) and early-stops on its own last tenth, so the conventional validation text (the
last 10 %) is never read here. Compare candidates at the number of epochs that the
training-time budget of ``bench_char_lm.py`` allows on the target machine (about 14 in
10 minutes on two CPU cores). Any device gives the same curves up to rounding, so a GPU
makes the comparison quick.

    python benchmarks/tune_char_lm.py --device cuda --no-record

Seen on 2026-11-26 (an H100, torch 2.11, 15 epochs, about 30 s a candidate; held-out
nats per character after epochs 10 / 14 / 15):

=====================================  ======  ======  ======
candidate                              10      14      15
=====================================  ======  ======  ======
dropout 0, learning rate 2e-3          1.4992  1.4934  1.4623
dropout 0.1                            1.4883  1.4581  1.4548
dropout 0.2                            1.4998  1.4625  1.4570
dropout 0.1, learning rate 3e-3        1.4687  1.4444  1.4454
=====================================  ======  ======  ======

The last became the defaults.
"""

import ast
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, parse_args, require  # noqa: E402

from sklearn_rnn import CharLMGenerator  # noqa: E402

CANDIDATES = [
    {},
    {"dropout": 0.1},
    {"dropout": 0.2},
    {"dropout": 0.1, "learning_rate_init": 3e-3},
]


def main(args):
    text = require(DATA / "tinyshakespeare" / "input.txt").read_text()
    train = text[: int(0.9 * len(text))]
    candidates = ast.literal_eval(args.candidates) if args.candidates else CANDIDATES
    for params in candidates:
        gen = CharLMGenerator(
            random_state=0, device=args.device, max_iter=args.epochs, **params
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gen.fit(train)
        curve = [round(h["valid_loss"], 4) for h in gen.history_]
        print(
            json.dumps(
                {
                    "params": params,
                    "seconds": round(time.perf_counter() - start),
                    "dev_nats": curve,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main(
        parse_args(
            __doc__.splitlines()[0],
            epochs=dict(type=int, default=16, help="max_iter"),
            candidates=dict(default=None, help="a Python list of parameter dicts"),
        )
    )
