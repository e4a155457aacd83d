"""Round-5 review fixes of the torchdist group (autograd.queue_callback)."""
import minitf as mt
from minitf import autograd


def test_queue_callback_nested_pass_and_chained_callbacks():
    x = mt.ones(2, requires_grad=True)
    y = mt.ones(2, requires_grad=True)
    log = []

    def chained():
        log.append("outer")
        autograd.queue_callback(lambda: log.append("chained"))   # torch runs it after this one

    def hook(g):
        with mt.enable_grad():
            yy = y * 1
            yy.register_hook(lambda gg: (autograd.queue_callback(lambda: log.append("nested")), gg)[1])
            mt.grad((yy * 3).sum(), y)                             # a nested pass inside the hook
        log.append("nested pass done")
        autograd.queue_callback(chained)
        return g

    w = x * 2
    w.register_hook(hook)
    w.sum().backward()
    log.append("returned")
    # the nested pass's callback waits for the outermost pass (minitf's rule, for DDP's wait)
    assert log == ["nested pass done", "nested", "outer", "chained", "returned"]
    (x * 2).sum().backward()                                       # nothing left queued
    assert log[-1] == "returned"
