"""The tests of pulumi-karmo-roles: helpers in :mod:`tests.support`, fixtures in the
``conftest.py`` files, and test modules named for the behaviour they check."""
