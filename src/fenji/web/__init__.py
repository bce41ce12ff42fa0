"""The system of record: a Django project holding customers, facts, policies, evaluation runs
and their results. It builds on :mod:`fenji.engine`; the engine never imports it."""
