"""
Learn text, then write it one character at a time
=================================================

:class:`~sklearn_rnn.CharLMGenerator` is a character-level language model: it learns
the distribution of the next character given the text so far, and writes new text by
drawing a character, feeding it back and drawing the next (the one-to-many shape).

First the classic: a vanilla RNN with one-hot input learns the word "hello" and,
given "h", writes "ello". Then a small LSTM reads a slice of the bundled tiny
shakespeare for a few seconds, and writes, scores and predicts text.
"""

import matplotlib.pyplot as plt

from sklearn_rnn import CharLMGenerator, TrainingHistoryDisplay
from sklearn_rnn.datasets import load_tinyshakespeare

hello = CharLMGenerator(
    cell="rnn",  # h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)
    embedding_dim=None,  # one-hot characters
    hidden_size=16,
    dropout=0.0,  # five characters: nothing to regularise
    learning_rate_init=0.01,
    max_iter=100,
    random_state=0,
).fit("hello")
print("vocabulary:", hello.classes_.tolist())
print("h ->", hello.generate(prompt="h", temperature=0))

# %%
# A few seconds of Shakespeare
# ----------------------------
# The text is read as ``batch_size`` parallel streams, ``seq_len`` characters at a
# time, the state carried from one window to the next (truncated backpropagation
# through time). The end of the text is held out to watch the validation score.
text = load_tinyshakespeare(return_text=True)[:40_000]
gen = CharLMGenerator(
    hidden_size=128,
    num_layers=1,
    embedding_dim=32,
    seq_len=50,
    batch_size=32,
    learning_rate_init=5e-3,
    max_iter=6,
    early_stopping=True,
    random_state=0,
).fit(text)
print(f"{len(gen.classes_)} characters, {gen.n_iter_} epochs")

# %%
# The training curves: both losses are the cross-entropy in nats per character, the
# validation one on the held-out end of the text. (The validation score is the same
# figure negated, so it is left out.)
display = TrainingHistoryDisplay.from_estimator(gen, score=False)
display.ax_.set_ylabel("cross-entropy (nats per character)")
plt.show()

# %%
# Writing: ``temperature`` trades surprise for safety, and ``0`` is greedy. Several
# samples are drawn as one batch, and ``random_state`` makes them reproducible.
for temperature in [0.0, 0.6, 1.0]:
    sample = gen.generate(
        80, prompt="ROMEO:\n", temperature=temperature, random_state=0
    )
    print(f"--- temperature {temperature}\nROMEO:\n{sample}")
for sample in gen.generate(40, prompt="KING ", n_samples=3, top_k=5, random_state=1):
    print(f"--- KING {sample}")

# %%
# Scoring and predicting: the mean log-likelihood per character (``score``, what
# ``GridSearchCV`` maximises), perplexity, bits per character, and the most likely
# next character after a prefix.
held_out = load_tinyshakespeare(subset="validation", return_text=True)[:5_000]
print(
    f"perplexity {gen.perplexity(held_out):.2f}, "
    f"bits per character {gen.bits_per_character(held_out):.3f}"
)
print(gen.predict(["First Citiz", "What say yo", "my lor"]))
