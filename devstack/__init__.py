"""The stack without Docker: real servers from Python wheels, supervised by `python -m devstack`."""
