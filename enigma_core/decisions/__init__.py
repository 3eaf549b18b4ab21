"""The decision log: every classify/route decision appended to SQLite (``ENIGMA_HOME/logs.db``).

``record.Decision`` is one row, ``schema`` creates and migrates the database, ``writer`` appends
off the request path, ``query`` reads for ``enigma logs`` and ``enigma review``.
"""
