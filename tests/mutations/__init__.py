"""Every mutation of the contract except the job ones, through the GraphQL API, one module per
entity plus their refusals (test_refusals.py).

Every failing case also checks that the failed mutation changed nothing: the whole database
(every table but the tokens) is compared before and after (tests/support/error_cases.py). Most
tests start from the ``world`` fixture (tests/mutations/conftest.py).
"""
