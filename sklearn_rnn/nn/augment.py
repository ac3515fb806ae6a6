"""Augmentation of numeric series while training.

Window warping (Le Guennec, Malinowski and Tavenard 2016): a random window of each
series runs at twice or half its speed, and the series is resampled back to its own
length. A classifier that sees every series warped a little each epoch learns
shapes that do not hang on their exact timing, the variation that 1-NN DTW forgives
and that a few dozen or hundred training series cannot show it. Iwana and Uchida's
survey of time-series augmentation (2021) found it among the few that help both
recurrent and convolutional classifiers across the UCR archive.
"""

import torch


def window_warp(inputs, lengths, fraction):
    """Each series of ``inputs`` with one window stretched to twice or squeezed to
    half its length (even odds), then resampled linearly back to its own length.

    Parameters
    ----------
    inputs : Tensor of shape (N, L, C)
        Floats; each series fills its first ``lengths[i]`` steps.
    lengths : Tensor of shape (N,) or None
        ``None`` when every series fills the ``L`` steps.
    fraction : float
        The window's share of its series' length (at least 2 steps, at most all of
        them), placed uniformly at random.

    Returns
    -------
    Tensor of shape (N, L, C)
        The warped series, each still ``lengths[i]`` steps long, zero past it. The
        first and last steps stay where they are. The draws come from torch's
        random number generator on the inputs' device (seeded for each fit, as
        dropout's are).
    """
    n, total, channels = inputs.shape
    device = inputs.device
    if lengths is None:
        lengths = torch.full((n,), total, device=device)
    lengths = lengths.to(device)
    # positions run from 0 to length - 1: the window spans ``window`` of them
    span = (lengths - 1).clamp(min=0).to(torch.float32)
    window = torch.minimum((fraction * (span + 1)).round().clamp(min=2.0), span)
    start = torch.rand(n, device=device) * (span - window)
    speed = torch.where(torch.rand(n, device=device) < 0.5, 0.5, 2.0)
    warped_span = span + window * (speed - 1)
    # output step t reads warped position u, which reads input position source
    steps = torch.arange(total, device=device, dtype=torch.float32)[None, :]
    u = steps * (warped_span / span.clamp(min=1.0))[:, None]
    start, window, speed = start[:, None], window[:, None], speed[:, None]
    source = torch.where(
        u < start,
        u,
        torch.where(
            u < start + window * speed,
            start + (u - start) / speed,
            u - window * speed + window,
        ),
    )
    last = (lengths - 1).clamp(min=0)[:, None]
    source = torch.minimum(source, span[:, None]).clamp(min=0.0)  # rounding
    below = source.floor().long()
    above = torch.minimum(below + 1, last)
    weight = (source - below).unsqueeze(2).to(inputs.dtype)

    def at(index):
        return torch.gather(inputs, 1, index.unsqueeze(2).expand(-1, -1, channels))

    out = at(below) * (1 - weight) + at(above) * weight
    real = (steps < lengths[:, None]).unsqueeze(2)
    return out * real.to(out.dtype)
