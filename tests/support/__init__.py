"""What the tests share: fake credentials, loopback servers that misbehave on purpose,
the provider process harness, mocks for programs, the real CLI's projects, tables."""
