"""A training run's folder and its stopping: what the folder holds, which folders a run refuses, the log a
resumed run continues, and a clean stop on Ctrl-C / SIGTERM that keeps ``checkpoint_last.pt``."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

from ..errors import InputError
from ..outputs import other_output
from ..paths import atomic_path

logger = logging.getLogger(__name__)

LOG_NAME = "train_log.jsonl"
OUT_FILES = ("checkpoint_last.pt", "model.pt", LOG_NAME)
"""What a run writes in its --out folder (its manifest lists them)."""


def check_out_folder(out_dir, *, resume) -> Path:
    """Refuse, before any work, an --out holding another command's output, or an earlier run unless resuming."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir {out} is a file; pass a folder path", parameter="out_dir")
    if out.is_dir():
        other = other_output(out, LOG_NAME)
        if other is not None:
            raise InputError(f"out_dir {out} holds another command's output ({other}), which training must not mix "
                             "with; pass another folder", parameter="out_dir")
        if (out / LOG_NAME).exists() and resume is None:
            raise InputError(f"out_dir {out} already holds a training run ({LOG_NAME}); continue it with resume "
                             f"{out / 'checkpoint_last.pt'} (--resume), or pass another folder", parameter="out_dir")
    return out


class TrainingInterrupted(Exception):
    """Training stopped on request (Ctrl-C / SIGTERM) after a whole step; ``checkpoint`` resumes it."""

    def __init__(self, checkpoint: Path, step: int) -> None:
        super().__init__(f"interrupted after step {step}: saved {checkpoint}; continue with --resume {checkpoint}")
        self.checkpoint, self.step = checkpoint, step


class StopRequest:
    """The first SIGINT / SIGTERM asks the loop to stop after the current step (and save); a second ends the
    process at once, even inside a long C++ operation (the default action: nothing new is saved, the last
    checkpoint_last.pt stays whole as it is written under a temporary name)."""

    def __init__(self, enabled: bool) -> None:
        self.requested, self._previous = False, {}
        if enabled and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum, frame) -> None:
        self.requested = True
        for other in self._previous:
            signal.signal(other, signal.SIG_DFL)
        print("\nstopping after this step and saving checkpoint_last.pt (interrupt again to abort without saving)",
              file=sys.stderr, flush=True)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


def truncate_log(path: Path, step: int) -> None:
    """Keep only the log lines up to ``step`` (a resumed run rewrites what followed).

    A torn last line (the run was killed while writing it) is dropped; a damaged line before
    it is an error naming the file and line.
    """
    if not path.exists():
        return
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    kept = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                logger.warning("%s: dropped its torn last line (the run stopped while writing it)", path)
                break
            raise InputError(f"{path}, line {number}, is not JSON; fix or delete that line to resume") from None
        step_of_line = record.get("step") if isinstance(record, dict) else None
        if isinstance(step_of_line, bool) or not isinstance(step_of_line, int):
            raise InputError(f"{path}, line {number}, has no whole-number \"step\" field, so it is not a line this "
                             "training wrote; fix or delete that line to resume")
        if record["step"] <= step:
            kept.append(line)
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in kept))
