"""Coverage-guided fuzzing of the codec, the MRT reader, the session state machine and the
receiving path of a peer.

``targets.py`` holds the fuzz targets (plain functions of one ``bytes`` argument that raise
only when an invariant breaks), ``run.py`` the command that drives them with atheris/libFuzzer
(``scripts/fuzz``), ``corpus/`` the minimized inputs replayed by CI.
"""
