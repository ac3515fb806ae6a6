"""Adversarial training of the token vectors (Miyato, Dai and Goodfellow, 2017).

Each training step scores the batch twice: as it is, and with every sequence's token
vectors moved a distance ``eps`` in the direction that raises its loss fastest. The
loss is the sum of the two, so the network learns to give the same answer to
sentences whose words sit near those it saw: a regulariser for word embeddings
learned from few sentences.
"""

import torch


class EmbeddingAdversary:
    """What a network calls on its token vectors ``(N, L, F)`` on the way to its
    recurrent layer: on a first, clean pass it keeps them and returns them as they
    are; after :meth:`aim`, it returns them plus their adversarial perturbation.

    The perturbation of a sequence is ``eps * g / ||g||``, with ``g`` the gradient of
    the clean pass's loss with respect to its vectors (all its steps together) and
    ``||g||`` its L2 norm; padding steps, which no output reads, get none. Several
    networks reading the same batch (an ensemble) call it in turn, in the same order
    on both passes, and each gets the perturbation of its own vectors.

    Parameters
    ----------
    eps : float
        The L2 norm of each sequence's perturbation.
    """

    def __init__(self, eps):
        self.eps = eps
        self._clean = []
        self._perturbations = None

    def __call__(self, vectors):
        if self._perturbations is None:
            if not vectors.requires_grad:  # a frozen embedding: still perturbed
                vectors = vectors.detach().requires_grad_()
            self._clean.append(vectors)
            return vectors
        return vectors + self._perturbations.pop(0)

    def aim(self, loss):
        """Turn to the perturbed pass: the perturbations that raise ``loss`` (a
        scalar of the clean pass, whose graph is kept for its own backward)."""
        grads = torch.autograd.grad(loss, self._clean, retain_graph=True)
        self._perturbations = []
        for grad in grads:
            norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
            shape = (-1,) + (1,) * (grad.dim() - 1)
            self._perturbations.append(self.eps * grad / norm.view(shape))
        self._clean = []


def adversarial_loss(run, mean_loss, eps):
    """The loss of a training step with adversarial token vectors.

    Parameters
    ----------
    run : callable
        ``run(adversary)`` -> the network's outputs for the batch, passing every token
        vector through ``adversary`` (an :class:`EmbeddingAdversary`).
    mean_loss : callable
        ``mean_loss(outputs)`` -> the scalar loss of those outputs.
    eps : float
        The L2 norm of each sequence's perturbation.

    Returns
    -------
    loss : scalar tensor
        The clean loss plus the perturbed one.
    outputs : tensor
        The clean pass's outputs.
    """
    adversary = EmbeddingAdversary(eps)
    outputs = run(adversary)
    clean = mean_loss(outputs)
    adversary.aim(clean)
    return clean + mean_loss(run(adversary)), outputs
