"""The pure core: records, rules and parsers. No I/O of AWS, no clock, no terminal.

Nothing here imports boto3, botocore, click or rich; callers pass ``now``.
"""
