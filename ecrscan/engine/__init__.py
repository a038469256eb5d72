"""The engine: rescan, report and discovery over a gateway, fanned out over targets.

It calls AWS only through the protocols of :mod:`ecrscan.engine.ports` (implemented by
:mod:`ecrscan.aws`, which it never imports) and returns values of
:mod:`ecrscan.core.model`; it prints nothing and knows no command-line option.
"""
