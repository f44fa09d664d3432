"""`explore` of a stack in the terminal, as data: the top output under the cursor,
how many of its levels are lit so far (they light one after another, from the top
down), and how far the backward pass has stepped — and the blocks that says."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from convgrad_cli.core.names import Index
from convgrad_cli.core.receptive import output_reach
from convgrad_cli.core.stack import LayerPass, Stack, backward
from convgrad_cli.core.views.blocks import Block, Panels, Sentence
from convgrad_cli.core.views.reach import output_view
from convgrad_cli.core.views.stack import backward_steps, loss_sentence

from .words import WORDS


@dataclass(frozen=True)
class StackState:
    """The cursor on the top output, the levels lit, the layers of the backward pass shown."""

    stack: Stack
    top: Index
    lit: int | None = None  # levels of the reach drawn so far, from the top (None: all)
    step: int = 0  # layers of the backward pass shown, from the top
    passes: list[LayerPass] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def start(cls, stack: Stack) -> StackState:
        return cls(stack, (0,) * len(stack.shapes[-1]), passes=backward(stack))

    @property
    def levels(self) -> int:
        """Levels of the reach: each layer's output and the input, and the gradient."""
        return len(self.stack.layers) + 2

    @property
    def count(self) -> int:
        return len(self.stack.layers)

    def move(self, rows: int, cols: int) -> StackState:
        """The cursor ``rows`` down and ``cols`` right on the top output (1-D: along it);
        its levels light again from the top."""
        shape, idx = self.stack.shapes[-1], list(self.top)
        axes = [len(idx) - 1] if len(shape) == 3 else [len(idx) - 2, len(idx) - 1]
        moves = [rows + cols] if len(shape) == 3 else [rows, cols]
        for axis, by in zip(axes, moves):
            idx[axis] = min(max(0, idx[axis] + by), shape[axis] - 1)
        return replace(self, top=tuple(idx), lit=1)

    def channel(self, by: int) -> StackState:
        """The top output's next channel (its first axis after the sample's)."""
        idx = list(self.top)
        idx[1] = (idx[1] + by) % self.stack.shapes[-1][1]
        return replace(self, top=tuple(idx), lit=1)

    def sample(self, by: int) -> StackState:
        idx = list(self.top)
        idx[0] = (idx[0] + by) % self.stack.shapes[-1][0]
        return replace(self, top=tuple(idx), lit=1)

    def lighter(self) -> StackState:
        """One more level lit; all of them once the last is."""
        lit = None if self.lit is None or self.lit + 1 >= self.levels else self.lit + 1
        return replace(self, lit=lit)

    def stepped(self, by: int) -> StackState:
        return replace(self, step=min(max(0, self.step + by), self.count))

    def reach(self) -> tuple[Block, ...]:
        """The field's sentence and the levels lit so far, then the legend once all are."""
        blocks = output_view(self.stack, output_reach(self.stack, self.top)).blocks[1:]
        if self.lit is None:
            return blocks
        out: list[Block] = []
        sections = 0
        for b in blocks:
            sections += isinstance(b, Panels)
            if isinstance(b, Panels) and sections > self.lit:
                break
            out.append(b)
        return tuple(out)

    def backward(self) -> tuple[Block, ...]:
        """The backward pass down to the layers stepped so far."""
        said = WORDS["stack_start"].format(count=self.count)
        if self.step:
            first = backward_steps(self.passes)[self.step - 1][0]
            assert isinstance(first, Sentence)
            said = WORDS["stack_step"].format(step=self.step, count=self.count, layer=first.text)
        opening = (Sentence.of(said, strong=True), loss_sentence(self.stack, self.passes[-1].output))
        shown = [b for step in backward_steps(self.passes)[: self.step] for b in step]
        return (*opening, *shown)
