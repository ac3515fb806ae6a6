"""
Tag named entities, with a CRF and character features
=====================================================

:class:`~sklearn_rnn.LSTMSequenceTagger` gives one label per token. Here it learns the
named entities of a slice of WNUT-17 (noisy social-media English, bundled with the
package): each token is read through a word embedding and the characters of its
spelling, a bidirectional LSTM reads the sentence, and a linear-chain CRF picks the
best tag sequence that forms well-formed entities. Scores are entity-level, as the
CoNLL shared tasks report them.

To stay within a few seconds it learns one entity type (people) from the 500 training
sentences that mention one, for six epochs. That makes a weak model: the benchmarks
train on everything (``benchmarks/bench_conll.py``); the point here is the workflow.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_rnn import LSTMSequenceTagger
from sklearn_rnn.datasets import load_wnut17
from sklearn_rnn.metrics import entity_classification_report


def people_only(tags):
    return [tag if tag.endswith("-person") else "O" for tag in tags]


X, y = load_wnut17(subset="train", return_X_y=True)
X_test, y_test = load_wnut17(subset="test", return_X_y=True)
keep = [i for i, tags in enumerate(y) if "B-person" in tags]
X, y = [X[i] for i in keep], [people_only(y[i]) for i in keep]
y_test = [people_only(tags) for tags in y_test]
print(f"{len(X)} training sentences, for example {list(zip(X[1], y[1], strict=True))}")

# %%
# The tag scheme (IOB2) is detected from ``y``, and predictions always keep to it.
tagger = LSTMSequenceTagger(
    hidden_size=48,
    embedding_dim=50,
    batch_size=16,
    learning_rate_init=5e-3,
    max_iter=6,
    random_state=0,
)
tagger.fit(X, y)
print(f"scheme {tagger.tag_scheme_}; entity F1 on the test file:")
print(entity_classification_report(y_test, tagger.predict(X_test), zero_division=0.0))

# %%
# ``predict`` returns one label per token; ``predict_proba`` the CRF's marginal
# probability of each label at each token, columns in ``classes_`` order.
sentence = "yesterday Taylor Swift played a show in New York".split()
print(list(zip(sentence, tagger.predict([sentence])[0], strict=True)))
proba = tagger.predict_proba([sentence])[0]
fig, ax = plt.subplots(figsize=(7, 3))
ax.imshow(proba.T, cmap="Blues", vmin=0, vmax=1, aspect="auto")
ax.set(
    xticks=np.arange(len(sentence)),
    yticks=np.arange(len(tagger.classes_)),
    title="per-token label probabilities",
)
ax.set_xticklabels(sentence, rotation=30, ha="right")
ax.set_yticklabels(tagger.classes_)
fig.tight_layout()
plt.show()
