"""Backward passes in PyTorch and JAX, for `check --framework torch|jax`: autograd of
the framework's own convolution, taking and returning the framework's arrays."""

from tests.support.broken_impls import _pairs


def torch_backward(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    import torch
    import torch.nn.functional as F

    nd = x.ndim - 2
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    x, w = x.detach().requires_grad_(), w.detach().requires_grad_()
    b = torch.zeros(w.shape[0], dtype=x.dtype, device=x.device, requires_grad=True)
    flat = [p for pair in reversed(_pairs(padding, nd)) for p in pair]  # F.pad: last axis first
    y = conv(F.pad(x, flat), w, b, stride=stride, dilation=dilation, groups=groups)
    y.backward(delta)
    return x.grad, w.grad, b.grad


def torch_not_flipped(x, w, delta, **kw):
    """A mistake made in torch: ∂L/∂x as if W were rotated by 180°, which is the slides'
    pipeline without the flip."""
    nd = x.ndim - 2
    dx, _, db = torch_backward(x, w.flip(list(range(2, 2 + nd))), delta, **kw)
    return dx, torch_backward(x, w, delta, **kw)[1], db


def jax_backward(x, w, delta, stride=1, padding=0, dilation=1, groups=1):
    import jax

    nd = x.ndim - 2

    def s(v):
        return (v,) * nd if isinstance(v, int) else tuple(v)

    def loss(x_, w_, b_):
        y = jax.lax.conv_general_dilated(
            x_, w_, s(stride), _pairs(padding, nd), rhs_dilation=s(dilation), feature_group_count=groups
        )
        y = y + b_.reshape(1, -1, *([1] * nd))
        return (y * delta).sum()

    import jax.numpy as jnp

    b = jnp.zeros(w.shape[0], dtype=x.dtype)
    return jax.grad(loss, argnums=(0, 1, 2))(x, w, b)


def jax_not_flipped(x, w, delta, **kw):
    """The same mistake made in jax."""
    import jax.numpy as jnp

    nd = x.ndim - 2
    dx, _, db = jax_backward(x, jnp.flip(w, axis=tuple(range(2, 2 + nd))), delta, **kw)
    return dx, jax_backward(x, w, delta, **kw)[1], db
