"""The commands: minigrad-train (cli/train.py), minigrad-eval (cli/evaluate.py), their plots and
argument types. Library code never imports from here."""
