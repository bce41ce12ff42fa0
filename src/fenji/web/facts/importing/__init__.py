"""The machinery of imports; :mod:`fenji.web.facts.services` is the entry point.

``tables`` maps each kind of file onto its database table, ``reading`` reads files and keeps
track of their rows, ``plan`` works out what an import does, ``database`` reads and writes in
bulk on SQLite and PostgreSQL, ``rejects`` writes the error file, ``report`` is the outcome.
"""
