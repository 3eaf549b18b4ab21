"""The ``enigma`` command line: one module per command group, composed in :mod:`.main`."""
