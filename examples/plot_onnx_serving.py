"""
Serve a model without torch (ONNX)
==================================

Fit a tagger, export it to one ONNX file with :func:`sklearn_rnn.export_onnx`, and
predict with :class:`sklearn_rnn.onnx.OnnxModel`, which needs only numpy and
onnxruntime: the file holds the network (dynamic batch size and lengths) and, as
metadata, the vocabularies, the tag scheme and the CRF's scores, so the served model
takes the same token lists as the estimator and gives the same tags. A translator
(and a character generator) exports the same way, the last section shows.
"""

import os
import tempfile
import time

import matplotlib.pyplot as plt

from sklearn_rnn import LSTMSequenceTagger, RNNTranslator, export_onnx
from sklearn_rnn.onnx import OnnxModel

X = [
    ["Anna", "lives", "in", "Oslo"],
    ["Bo", "flew", "from", "New", "York", "to", "Rome"],
    ["the", "weather", "in", "Lima", "is", "fine"],
] * 10
y = [
    ["B-PER", "O", "O", "B-LOC"],
    ["B-PER", "O", "O", "B-LOC", "I-LOC", "O", "B-LOC"],
    ["O", "O", "O", "B-LOC", "O", "O"],
] * 10
tagger = LSTMSequenceTagger(
    hidden_size=16,
    embedding_dim=16,
    char_filters=16,
    batch_size=4,
    max_iter=30,
    random_state=0,
).fit(X, y)

# %%
# Export: one file. A tagger, a classifier or a regressor fitted on text, token
# lists or numeric series exports alike; ``quantize=True`` stores the LSTM's weights
# as 8-bit integers (a smaller, faster file whose predictions may differ slightly).
folder = tempfile.mkdtemp()
path = export_onnx(tagger, os.path.join(folder, "tagger.onnx"))
print(f"{os.path.getsize(path) / 1e3:.0f} kB")

# %%
# Serve: in a process that has only numpy and onnxruntime (importing
# ``sklearn_rnn.onnx`` imports no torch). Sentences of any lengths, words never seen
# in ``fit``.
served = OnnxModel(path)
sentences = [["Anna", "flew", "to", "Oslo"], ["Zoe", "lives", "in", "Quito"], ["Bo"]]
print(served.predict(sentences))
assert served.predict(sentences) == tagger.predict(sentences)

# %%
# Each token's label probabilities: the CRF's marginals over the whole sentence, as
# ``tagger.predict_proba`` gives them.
proba = served.predict_proba(sentences[:1])[0]  # (4 tokens, labels)
oslo = zip(served.classes_, proba[3], strict=True)
print({str(label): round(float(p), 3) for label, p in oslo})

# %%
# One sentence at a time, as a service answers requests: the estimator (torch)
# against the served file (onnxruntime).
timings = {}
for name, model in (("estimator (torch)", tagger), ("OnnxModel", served)):
    start = time.perf_counter()
    for _ in range(50):
        model.predict(sentences[:1])
    timings[name] = (time.perf_counter() - start) / 50 * 1000
fig, ax = plt.subplots(figsize=(5, 2))
ax.barh(list(timings), list(timings.values()))
ax.set(xlabel="milliseconds per sentence")
fig.tight_layout()
plt.show()

# %%
# A translator: the file holds the encoder and one step of the decoder, and
# ``OnnxModel`` runs the decoding loop (greedy, or a beam search with ``beam_size``) in
# numpy, strings in and strings out, as the estimator does. Here it learns to spell
# words backwards.
words = ["cat", "dog", "bird", "fish", "frog", "mouse", "horse", "sheep"] * 8
translator = RNNTranslator(
    hidden_size=32,
    embedding_dim=16,
    target_embedding_dim=16,
    batch_size=8,
    max_iter=40,
    random_state=0,
).fit(words, [word[::-1] for word in words])
path = export_onnx(translator, os.path.join(folder, "backwards.onnx"))
served_translator = OnnxModel(path)
print(
    f"{os.path.getsize(path) / 1e3:.0f} kB:",
    served_translator.predict(["horse", "cat"]),
)
assert served_translator.predict(["horse", "cat"]) == translator.predict(
    ["horse", "cat"]
)
