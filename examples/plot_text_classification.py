"""
Classify sentences, and search the architecture
===============================================

Raw strings go straight in: the classifier tokenises them, learns a vocabulary and an
embedding, and maps words it never saw to an unknown slot. Here a toy task -- is a
question about a person, a place or a number? -- shows the text path, a grid search
over the recurrent cell, and the pooled sentence vectors that ``transform`` returns.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV

from sklearn_rnn import RNNClassifier

rng = np.random.RandomState(0)
templates = {
    "person": [
        "who wrote {}",
        "who painted {}",
        "who discovered {}",
        "name the author of {}",
    ],
    "place": [
        "where is {}",
        "where was {} built",
        "in which city is {}",
        "where can I find {}",
    ],
    "number": [
        "how many {} are there",
        "how old is {}",
        "how tall is {}",
        "what year was {}",
    ],
}
things = (
    "the tower the bridge hamlet the moon radium the museum the novel the river".split()
)
X, y = [], []
for label, forms in templates.items():
    for _ in range(60):
        X.append(rng.choice(forms).format(rng.choice(things)) + " ?")
        y.append(label)

# %%
# A small grid over the cell type and the pooling, with 3-fold cross-validation.
search = GridSearchCV(
    RNNClassifier(hidden_size=32, embedding_dim=16, max_iter=30, random_state=0),
    {"cell": ["rnn", "gru", "lstm"], "pooling": ["last", "max"]},
    cv=3,
)
search.fit(X, y)
print("best:", search.best_params_, f"accuracy {search.best_score_:.3f}")
print(search.predict(["who built the tower ?", "how far is the moon ?"]))

# %%
# ``transform`` gives the pooled vector of each sentence; two principal components of
# them already separate the three kinds of question.
vectors = search.best_estimator_.transform(X)
points = PCA(n_components=2).fit_transform(vectors)
fig, ax = plt.subplots(figsize=(5, 4))
for label in templates:
    mask = np.array(y) == label
    ax.scatter(*points[mask].T, label=label, s=12)
ax.legend()
ax.set(title="sentence vectors (PCA)")
plt.show()
