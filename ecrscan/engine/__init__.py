"""The engine: rescan, report and discovery over a gateway, fanned out over targets.

It calls AWS only through :mod:`ecrscan.aws` and returns values of
:mod:`ecrscan.core.model`; it prints nothing and knows no command-line option.
"""
