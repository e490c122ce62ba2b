"""The command line, `python -m predictor ...`: parse, call the core, print, map errors.

`commands` holds the parser and the serving commands (predict, batch, models, evaluate,
serve), `feedback` the feedback-loop ones (labels, retrain, compare, shadow, promote,
add-version), `bench` where a prediction's time goes. Domain errors become exit status 2
and one line on stderr.
"""

from .commands import main

__all__ = ["main"]
