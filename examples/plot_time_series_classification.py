"""
Classify variable-length time series
====================================

Tell nine speakers apart from recordings of a vowel: each recording is a series of 7 to
29 frames of 12 cepstrum coefficients (the Japanese Vowels data, bundled with the
package). The series have different lengths; the classifier takes them as a list of
``(n_timesteps, 12)`` arrays, with no padding by hand.
"""

import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay

from sklearn_rnn import RNNClassifier, TrainingHistoryDisplay
from sklearn_rnn.datasets import load_japanese_vowels

X_train, y_train = load_japanese_vowels(subset="train", return_X_y=True)
X_test, y_test = load_japanese_vowels(subset="test", return_X_y=True)
print(
    f"{len(X_train)} training series, lengths {min(map(len, X_train))} to "
    f"{max(map(len, X_train))}"
)

# %%
# Default settings: a bidirectional GRU, max pooling over time, channels standardised
# inside. Without early stopping (fewer than 1,000 samples), training stops when the
# training loss stops improving.
clf = RNNClassifier(random_state=0).fit(X_train, y_train)
print(f"test accuracy {clf.score(X_test, y_test):.3f} after {clf.n_iter_} epochs")

# %%
# The loss curve and the confusions.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
TrainingHistoryDisplay.from_estimator(clf, ax=left).ax_.set_yscale("log")
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, ax=right, colorbar=False)
right.set(title="speakers")
plt.show()
