"""convgrad: see, and prove, how gradients flow back through a convolutional layer.

The Python API mirrors ``torch.nn.functional``::

    from convgrad_cli import conv2d, conv2d_backward
    y = conv2d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1)
    input_grad, weight_grad, bias_grad = conv2d_backward(x, w, delta, stride=1, padding=0)
"""

from .api import conv1d, conv1d_backward, conv2d, conv2d_backward, conv3d, conv3d_backward

__version__ = "0.1.0"

__all__ = [
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv3d",
    "conv3d_backward",
    "__version__",
]
