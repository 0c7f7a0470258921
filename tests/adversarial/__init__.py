"""Hostile peers against a running speaker: raw-socket attacks, each with its RFC answer
(docs/reliability.md). ``run.py`` is the command, ``test_adversarial.py`` the CI run."""
